# ruff: noqa: E501  (the template's lines are as long as teams write them)
"""Release plans written for the tests in VA's Markdown template, filled and blank.

They follow the template's shape and the figures of the plans teams write
(a four-toggle plan rolled out one toggle at a time; a two-toggle plan at 5,
25, 50, 75 and 100 %; a UAT phase whose answers are marked "(Sample)"), with
names of their own. Line numbers matter: the tests name them.
"""

from __future__ import annotations


def line_of(document: str, text: str, after: int = 0) -> int:
    """The 1-based line of the first line holding `text`, after line `after`."""
    for number, line in enumerate(document.splitlines(), start=1):
        if number > after and text in line:
            return number
    raise AssertionError(f"{text!r} is not in the document after line {after}")


def _phase(numeral: str, toggle: str, share: str, hold: str) -> str:
    return f"""\
## Phase {numeral}: {toggle}

### Planning

- Desired date range: _\\[mm/dd/yy - mm/dd/yy\\]_
- How will you make the product available in production while limiting the number of users who can find/access it: \\[_lorem ipsum_\\]
- What metrics-based criteria will you look at before advancing rollout to the next stage ("success criteria")?: \\[use your KPIs to help guide this. It could be things like _abandonment rate < 20%_, _reported contact center calls < 2 calls_, _error rate < 5%_, etc.\\]
- Links to dashboard(s) showing "success criteria" metrics: _\\[link here\\]_

### Stage A: Canary

#### Planning

- Percentage of users: {share}
- Length of time: {hold}

#### Results:
- Metrics at this stage (per your "success criteria"): x
- Was the data submitted (if any) easy for VA to process?: yes/no, lorem ipsum
- Types of errors logged: lorem ipsum

### Stage B: moderate

#### Planning

- Percentage of users: 
- Length of time: 

#### Results:
- Metrics at this stage (per your "success criteria"): x
- Types of errors logged: lorem ipsum

"""


#: Four toggles, listed in one order and rolled out in another; Stage A at 5,
#: 5, 10 and 5 % held 1 hr, 2 hrs, blank and 1 hr; every Stage B blank.
FOUR_TOGGLES = (
    """\
# Scheduling Service Integration - Release Plan

The scheduling service work is split into 4 toggles:
- Community Care appointments (sched_service_cc_appointments)
- Facilities (sched_facilities_service_v2)
- Request-related services (sched_service_requests)
- VistA-based appointments (sched_service_va_appointments)

The staged rollout of each toggle happens one after another.

---

## Prerequisites
All of the following are required before the toggles are enabled:
- [ ] The booking backend is live in Production
- [ ] The Product Owner approved the launch

"""
    + _phase("I", "sched_facilities_service_v2", "5%", "1 hr")
    + _phase("II", "sched_service_requests", "5%", "2 hrs")
    + _phase("III", "sched_service_cc_appointments", "10%", "")
    + _phase("IV", "sched_service_va_appointments", "5%", "1 hr")
    + """\
---

## Go Live!

### Planning:
- Desired date: mm/dd/yy
- Post-launch KPI 1: xx lorem ipsum
- Post-launch KPI 2: booking error rate < 2%
- etc
- Go / No Go: (ready / not ready)[https://example.gov/go-no-go-template.md]

### 1-week results:
- Number of unique users: x
- Post-launch KPI 1 actual: xx lorem ipsum
- Any issues with VA handling/processing?: yes/no, lorem ipsum
- Any UX changes necessary based on the logs, or feedback on user challenges, or VA challenges? yes/no 
- If yes, what: lorem ipsum

### 1-month results:
- Number of unique users: x

## Post-launch Questions 

_To be completed once you have gathered your initial set of data, as outlined above._ 

1. How do the KPIs you gathered compare to your pre-launch definition(s) of "success"?
1. How might your product evolve now or in the future based on these results?
"""
)

#: Two toggles launched together; stages at 5, 25, 50, 75 and 100 % written as
#: bold lines; Stage A held "1 day", the other holds blank; some results given.
TWO_TOGGLES = """\
# Release Plan: New Compose Flow

## Hypothesis

If we change the compose flow then any user can send a message whatever system their facility runs on.

## Step 1: Development
Feature Toggles

| Toggle name | Description |
| ----------- | ----------- |
| MVP toggle - `compose_curated_list_flow` | The curated care team list |
| Recent recipients toggle - `compose_recent_recipients` | Add description here-XX |

## Step 3: Production rollout

### Define the Rollback process

Our PM and Engineering Lead watch the dashboards and raise problems with the team.

#### If a critical severity issue
1. The feature toggle will be disabled for all users
2. The fix will be tested and deployed through normal CI/CD practices
#### If a high-severity issue
1. The feature toggle will remain enabled, possibly at a reduction of availability (e.g. lowered percentage of logged in users)
2. The offending commit will be reverted through normal `git` operations
#### If a low-severity issue
1. The toggle will remain enabled with no reduction in availability

## Overall Roll out Plan: Staged Release (ALL USERS)

Rollout Planning
Desired date range: 01/15/27 - 02/27/27

-How will you make the product available in production while limiting the number of users who can find/access it: **By using a feature flag.**

-What metrics-based criteria will you look at before advancing rollout to the next stage ("success criteria")?:**Metrics Criteria Defined Below.**

-Links to the dashboard showing "success criteria" metrics: [Compose dashboard](https://dashboards.example.gov/compose)

-Who is monitoring the dashboard(s)?: **UX Lead, Engineering Lead, and Product Manager**

## Monitoring

**Stage A: 5% of users**
Test a larger user population to ensure larger usage patterns expose no issues.

**Planning**
-Length of time: 1 day, January 15 (Update Here)
-Percentage of Users (and roughly how many users do you expect this to be):**5%**

**Results**
-Number of unique users: XX
-Was any downstream service affected by the change?: No
-Types of errors logged: XX (Update Here)

**Stage B: 25% of users**

**Planning**
-Length of time: 
-Percentage of Users (and roughly how many users do you expect this to be): **25%**

**Stage C: 50% of users**

**Planning**
-Length of time: 
-Percentage of Users (and roughly how many users do you expect this to be): **50%**

**Stage D: 75% of users**

**Planning**
-Length of time: XX
-Percentage of Users (and roughly how many users do you expect this to be): **75%**

**Stage E: 100% of users**
**Planning**
-Length of time: XX
-Percentage of Users: **100%**

**Results**
-Was any downstream service affected by the change?: [PICK_ONE]: no

## Post-launch Questions

1. What percentage of users send a new message each month?
2. Pie chart: What % of users send messages from each place:
     the web
     the mobile app
"""

#: A UAT phase whose planning and results are the template's samples, and a
#: rollback process the document calls a sample.
SAMPLES = """\
# --DRAFT-- (In Progress)

# Compose Flow: MVP Release Plan

## Step 3: Production rollout

### Define the Rollback process (below is just a SAMPLE template)

#### If a critical severity issue
1. The feature toggle will be disabled for all users

### Phase I: moderated production testing (UAT)

#### Rollout Planning  (Sample)

- Date range or test duration: Aug 22 - Sept 4
- Number of users: 2
- How you'll give the test users access to the product in production w/o making it live on VA.gov: Through use of a feature flag

#### Results  (Sample)

- Number of users: 2
- Number of bugs identified / fixed: 2
  - Login bug: the service account lacked an id; fixed.
- Was any downstream service affected by the change?: No
- Latency: between 4 seconds and 23 seconds

### Phase II: staged rollout of compose_curated_list_flow

### Stage A: Canary

- Percentage of users: 5%
- Length of time: 2 hrs

#### Results
- Number of unique users: 410 (Sample)
- Types of errors logged: none seen
- Types of errors logged: none seen

### Stage B: moderate

#### Planning (Sample)

- Percentage of users: 25%
- Length of time: 1 day
"""

#: The template's other parts: a status line, links, a metrics table, criteria
#: written by the team, a go-live date and targets, a severity named twice,
#: known risks, stages before any phase heading, and task items after them.
PARTS = """\
# Appointments Routing - Rollout Plan

**Status:** Draft
**Runbook**: https://runbooks.example.gov/routing
See the [routing dashboard](https://dash.example.gov/routing) for numbers.

## Executive Summary

Appointments for Oracle Health patients are fetched from the new service.

## Metrics Based Criteria

1. **Error rates** - compared with the base

| Metric Name | Description |
| --- | --- |
| Fetch failures | count of failed fetches |
|  |  |

## How Are We Monitoring?

| What We're Watching | What's Normal |
| --- | --- |
| API error rate | Baseline ~X% |

| Term | Definition |
| --- | --- |
| UAE | Unified Appointments Experience |

## Turning It On

### Stage A: 10% of users

- Percentage of users: 5%
- Length of time: 2 days (weekdays only)
- Enable the flag for a random 5 %

#### Results
- Number of bugs identified / fixed:
  - Timeout on the first fetch
- Types of errors logged: lorem ipsum

### Stage B: 40% of users

- Length of time: 3 days

### Step 5: Nudging

- [ ] Begin telling users about the new view

## Rollback

### If a critical severity issue
1. The feature toggle will be disabled for all users

### If a critical severity issue
1. Page the on-call engineer
2. The toggle will remain enabled with no reduction in availability

| Trigger | Action |
| --- | --- |
| New class of errors | Immediate rollback |

## Go Live!

- Desired date: 03/16/27
- Post-launch KPI 1: booking success rate at least 97%

### 2-week results
- Number of unique users: x

## Post-launch Questions

1. Did booking get faster?
   - for Oracle patients?

## Known Risks

- The new service is slower for some patients.
"""
