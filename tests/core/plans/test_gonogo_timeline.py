"""Go/no-go answers, the projected timeline, and the template's canary."""

from __future__ import annotations

import datetime as dt

import pytest

from flagramp.core.plans import Answer, GoNoGoOutcome, decide, load_plan, project
from flagramp.core.plans.template import canary_percentage
from tests.core.plans.sample import BASE

ROLES = ("eng", "po")


@pytest.mark.parametrize(
    ("answers", "outcome"),
    [
        ({}, GoNoGoOutcome.WAIT),
        ({"eng": Answer.LAUNCH}, GoNoGoOutcome.WAIT),
        ({"eng": Answer.LAUNCH, "po": Answer.LAUNCH}, GoNoGoOutcome.GO),
        ({"eng": Answer.LAUNCH, "po": Answer.PAUSE}, GoNoGoOutcome.PAUSE),
        ({"eng": Answer.PAUSE, "po": Answer.PIVOT}, GoNoGoOutcome.PIVOT),
        ({"eng": Answer.LAUNCH, "stranger": Answer.LAUNCH}, GoNoGoOutcome.WAIT),
    ],
)
def test_go_no_go_needs_every_role_to_launch(
    answers: dict[str, Answer], outcome: GoNoGoOutcome
) -> None:
    assert decide(ROLES, answers) is outcome


START = dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC)


def test_timeline_is_the_sum_of_holds() -> None:
    timeline = project(load_plan(BASE, "plan.yaml").plan, START)
    assert [(s.stage, s.start.hour, s.why) for s in timeline.steps] == [
        ("Canary", 9, "hold"),
        ("Half", 11, "hold"),
        ("All", 13, "hold"),
    ]
    assert timeline.finish == dt.datetime(2026, 3, 3, 13, tzinfo=dt.UTC)


def test_timeline_waits_for_the_minimum_sample() -> None:
    # 5 % of 48,000 users a day is 100 an hour: 1,000 users take 10 hours.
    text = BASE.replace("hold: 2h\n", "hold: 2h\n        min_sample: 1000\n", 1)
    timeline = project(load_plan(text, "plan.yaml").plan, START)
    first = timeline.steps[0]
    assert (first.end - first.start, first.why) == (
        dt.timedelta(hours=10),
        "min_sample",
    )


def test_timeline_waits_for_the_date_and_time_of_day_windows() -> None:
    text = BASE.replace(
        "audience: {eligible: oracle}",
        "audience: {eligible: oracle}\n    window: {start: 2026-03-04}\n"
        "    time_of_day: {start: '22:00', end: '06:00', timezone: UTC}",
    )
    timeline = project(load_plan(text, "plan.yaml").plan, START)
    starts = [s.start for s in timeline.steps]
    assert starts == [
        dt.datetime(2026, 3, 4, 0, tzinfo=dt.UTC),  # inside the window: at once
        dt.datetime(2026, 3, 4, 2, tzinfo=dt.UTC),
        dt.datetime(2026, 3, 4, 4, tzinfo=dt.UTC),
    ]
    late = project(load_plan(text, "plan.yaml").plan, START.replace(day=5, hour=7))
    assert late.steps[0].start == dt.datetime(2026, 3, 5, 22, tzinfo=dt.UTC)


def test_timeline_needs_an_aware_start() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        project(load_plan(BASE, "plan.yaml").plan, dt.datetime(2026, 3, 2))


@pytest.mark.parametrize(
    ("users_per_day", "percentage"),
    [(None, 5.0), (1_000, 10.0), (100_000, 6.0), (1_000_000, 0.6), (10_000_000, 0.06)],
)
def test_canary_reaches_about_500_users_at_most_10_percent(
    users_per_day: int | None, percentage: float
) -> None:
    assert canary_percentage(users_per_day) == percentage
