"""The small rules for the template's lines, one table each."""

from __future__ import annotations

import datetime as dt

import pytest

from flagramp.core.plans.markdown import quantities, rules


@pytest.mark.parametrize(
    ("text", "value", "why_not"),
    [
        ("5%", 5.0, ""),
        ("**25%**", 25.0, ""),
        ("12.5 %", 12.5, ""),
        ("10", 10.0, ""),
        ("5% (about 500 users)", 5.0, ""),
        ("1-5%", None, "a range, 1-5%"),
        ("20 to 30%", None, "a range, 20 to 30%"),
        ("5% or 10%", None, "several numbers (5, 10)"),
        ("120%", None, "120 is above 100"),
        ("0.1234%", None, "0.1234 has more than 3 decimals"),
        ("", None, ""),
        ("XX", None, ""),
    ],
)
def test_percentage(text: str, value: float | None, why_not: str) -> None:
    read = quantities.percentage(text)
    assert (read.value, read.why_not) == (value, why_not)


@pytest.mark.parametrize(
    ("text", "value", "rest", "why_not"),
    [
        ("1 hr", "1h", "", ""),
        ("2 hrs", "2h", "", ""),
        ("30 minutes", "30m", "", ""),
        ("1.5 hours", "1.5h", "", ""),
        ("1 day, January 15 (Update Here)", "1d", "January 15 (Update Here", ""),
        ("one week", "1w", "", ""),
        ("1-week results", "1w", "results", ""),
        ("1 month", "1mo", "", ""),
        ("1 hour 30 minutes", "1h30m", "", ""),
        ("1-2 weeks observation period", None, "", "a range, 1-2 weeks"),
        ("1 hour, then 2 days", None, "", "several lengths of time"),
        ("2", None, "", "2 has no unit"),
        ("1 year", "365d", "", ""),
        ("3 years", None, "", "'1095d' is over the longest duration, "
         "2 years (730d)"),
        ("800 days", None, "", "'800d' is over the longest duration, "
         "2 years (730d)"),
        ("XX", None, "", ""),
    ],
)  # fmt: skip
def test_duration(text: str, value: str | None, rest: str, why_not: str) -> None:
    read = quantities.duration(text)
    assert (read.value.text if read.value else None, read.rest, read.why_not) == (
        value,
        rest,
        why_not,
    )


@pytest.mark.parametrize(
    ("text", "value", "why_not"),
    [
        ("01/15/27 - 02/27/27", (dt.date(2027, 1, 15), dt.date(2027, 2, 27)), ""),
        ("2027-01-15", (dt.date(2027, 1, 15),), ""),
        ("January 15, 2027 to Feb 2 2027",
         (dt.date(2027, 1, 15), dt.date(2027, 2, 2)), ""),
        ("Aug 22 - Sept 4", None, "Aug 22 has no year"),
        ("02/30/27", None, "not a calendar date"),
        ("mm/dd/yy - mm/dd/yy", None, ""),
    ],
)  # fmt: skip
def test_dates(text: str, value: tuple[dt.date, ...] | None, why_not: str) -> None:
    read = quantities.dates(text)
    assert (read.value, read.why_not) == (value, why_not)


@pytest.mark.parametrize(
    ("text", "label", "value"),
    [
        ("Percentage of users: 5%", "Percentage of users", "5%"),
        ("Percentage of users: ", "Percentage of users", ""),
        ("Any UX changes necessary? yes/no", "Any UX changes necessary?", "yes/no"),
        ("Release Monitoring: https://x.gov/a:b", "Release Monitoring", "https://x.gov/a:b"),
        ("Go / No Go: (ready / not ready)[https://x.gov/t]", "Go / No Go",
         "(ready / not ready)[https://x.gov/t]"),
        ("See https://x.gov/a:b for more", None, None),
        ("No label here", None, None),
    ],
)  # fmt: skip
def test_split_label(text: str, label: str | None, value: str | None) -> None:
    found = rules.split_label(text)
    assert ((found.label, found.value) if found else (None, None)) == (label, value)


@pytest.mark.parametrize(
    ("value", "blank"),
    [
        ("", True),
        ("x", True),
        ("XX", True),
        ("_[mm/dd/yy - mm/dd/yy]_", True),
        ("[_lorem ipsum_]", True),
        ("yes/no, lorem ipsum", True),
        ("**ADD Data Dashboard Link Here**", True),
        ("Add description here-XX", True),
        ("TBD", True),
        ("N/A", True),
        ("No", False),
        ("By using a feature flag.", False),
        ("5%", False),
        ("2 (Sample)", False),
    ],
)
def test_is_blank(value: str, blank: bool) -> None:
    assert rules.is_blank(value) is blank


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("Facilities (sched_facilities_service_v2)", ["sched_facilities_service_v2"]),
        ("MVP toggle - `compose_flow`", ["compose_flow"]),
        ("the new_flow is nice", []),  # one underscore, not written as code
        ("https://x.gov/oh_recipient_groups/initiative_brief_v2.md", []),
        ("`a_b_c` and d_e_f", ["a_b_c", "d_e_f"]),
    ],
)
def test_toggles(text: str, names: list[str]) -> None:
    code = tuple(part for part in text.split("`")[1::2])
    assert rules.toggles(text, code) == names


@pytest.mark.parametrize(
    ("value", "hints"),
    [
        (
            "[use your KPIs to help guide this. It could be things like "
            "abandonment rate < 20%, reported contact center calls < 2 calls, "
            "error rate < 5%, etc.]",
            ["abandonment rate < 20%", "reported contact center calls < 2 calls",
             "error rate < 5%"],
        ),
        ("Metrics Criteria Defined Below.", []),
    ],
)  # fmt: skip
def test_hints(value: str, hints: list[str]) -> None:
    assert rules.hints(value) == hints


@pytest.mark.parametrize(
    ("title", "name"),
    [
        ("VAOS Service Integration - Release Plan", "vaos-service-integration"),
        ("Release Plan: New Compose Flow", "new-compose-flow"),
        ("2026 launch", "plan-2026-launch"),
        ("Release Plan", "release-plan"),
        ("word " * 30, "-".join(["word"] * 12)),
    ],
)
def test_slug(title: str, name: str) -> None:
    assert rules.slug(title) == name


def test_text_longer_than_a_plan_holds_is_cut_at_a_word() -> None:
    value, note = rules.text("word " * 1_000)
    assert len(value) <= rules.MAX_TEXT
    assert value.endswith("word…")
    assert note == "cut at 2,000 characters"
