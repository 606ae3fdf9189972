"""Go/no-go answers, the projected timeline, and the template's canary."""

from __future__ import annotations

import datetime as dt

import pytest

from flagramp.core.plans import (
    Answer,
    GoNoGo,
    GoNoGoOutcome,
    TimelineOutOfRange,
    decide,
    load_plan,
    project,
)
from flagramp.core.plans.template import canary_percentage
from tests.core.plans.sample import BASE

GATE = GoNoGo(roles=("eng", "po"))
PAIR = GoNoGo(roles=("eng", "po"), quorum=2)
L, P, V = Answer.LAUNCH, Answer.PAUSE, Answer.PIVOT


@pytest.mark.parametrize(
    ("gate", "answers", "outcome"),
    [
        (GATE, {}, GoNoGoOutcome.WAIT),
        (GATE, {"eng": {"ann": L}}, GoNoGoOutcome.WAIT),
        (GATE, {"eng": {"ann": L}, "po": {"bo": L}}, GoNoGoOutcome.GO),
        (GATE, {"eng": {"ann": L}, "po": {"bo": P}}, GoNoGoOutcome.PAUSE),
        (GATE, {"eng": {"ann": P}, "po": {"bo": V}}, GoNoGoOutcome.PIVOT),
        (GATE, {"eng": {"ann": L}, "stranger": {"x": L}}, GoNoGoOutcome.WAIT),
        # One person per role answers unless the gate sets a quorum.
        (PAIR, {"eng": {"ann": L}, "po": {"bo": L}}, GoNoGoOutcome.WAIT),
        (
            PAIR,
            {"eng": {"ann": L, "al": L}, "po": {"bo": L, "bea": L}},
            GoNoGoOutcome.GO,
        ),
        (
            PAIR,
            {"eng": {"ann": L, "al": P}, "po": {"bo": L, "bea": L}},
            GoNoGoOutcome.PAUSE,
        ),
        # A stranger's Pivot under a role the gate does not name does not count.
        (GATE, {"eng": {"ann": L}, "po": {"bo": L}, "x": {"y": V}}, GoNoGoOutcome.GO),
    ],
)
def test_go_no_go_needs_every_role_to_launch(
    gate: GoNoGo, answers: dict[str, dict[str, Answer]], outcome: GoNoGoOutcome
) -> None:
    assert decide(gate, answers) is outcome


START = dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC)


def test_timeline_is_the_sum_of_holds() -> None:
    timeline = project(load_plan(BASE, "plan.yaml").plan, START)
    assert [(s.stage, s.start.hour, s.why) for s in timeline.steps] == [
        ("Canary", 9, "hold"),
        ("Half", 11, "hold"),
        ("All", 13, "hold"),
    ]
    assert timeline.finish == dt.datetime(2026, 3, 3, 13, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("max_time", "length", "why"),
    [
        # 5 % of 48,000 users a day is 100 an hour: 1,000 users take 10 hours.
        ("12h", dt.timedelta(hours=10), "min_sample"),
        # An undecided stage asks people at max_time (default twice the hold).
        ("", dt.timedelta(hours=4), "max_time"),
    ],
)
def test_timeline_waits_for_the_minimum_sample_until_max_time(
    max_time: str, length: dt.timedelta, why: str
) -> None:
    extra = f"        max_time: {max_time}\n" if max_time else ""
    text = BASE.replace("hold: 2h\n", f"hold: 2h\n        min_sample: 1000\n{extra}", 1)
    first = project(load_plan(text, "plan.yaml").plan, START).steps[0]
    assert (first.end - first.start, first.why) == (length, why)


def test_timeline_waits_for_the_date_and_time_of_day_windows() -> None:
    text = BASE.replace(
        "audience: {eligible: oracle}",
        "audience: {eligible: oracle}\n    window: {start: 2026-03-04, timezone: UTC}\n"
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


def test_checkpoints_count_from_go_live_the_end_of_the_last_stage() -> None:
    text = BASE + (
        "go_live:\n  date: 2026-01-01\n  checkpoints:\n"
        "    - {name: 1 week, after: 1w}\n"
    )
    timeline = project(load_plan(text, "plan.yaml").plan, START)
    # The last stage ends 2026-03-03 13:00; the desired date does not move it.
    assert timeline.steps[-1].start == dt.datetime(2026, 3, 10, 13, tzinfo=dt.UTC)


def test_timeline_past_the_calendar_is_a_plan_error_not_an_overflow() -> None:
    with pytest.raises(TimelineOutOfRange, match="runs past the year 9999"):
        project(
            load_plan(BASE, "plan.yaml").plan,
            dt.datetime(9999, 12, 31, 12, tzinfo=dt.UTC),
        )


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
