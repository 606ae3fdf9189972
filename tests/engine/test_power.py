"""What a stage can detect, in the plan's units (`plan lint`)."""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import pytest

from flagramp.core.plans import load_plan
from flagramp.core.plans.criteria import Unit
from flagramp.core.plans.detectability import DetectabilityQuery, detectability
from flagramp.engine.power import detectable_effect
from flagramp.stats.detectability import StageTraffic
from flagramp.stats.detectability import detectable_effect as in_rates
from flagramp.stats.one_sided import Comparison

EXAMPLES = Path(__file__).parents[2] / "examples"

QUERY = DetectabilityQuery(
    phase="p",
    stage="s",
    criterion="errors",
    comparison="control",
    share=0.05,
    hold_minutes=120,
    alpha=0.025,
    beta=0.1,
    mde=1.0,
    margin=0.5,
    higher_is_worse=True,
    unit=Unit.POINTS,
    percent=True,
    per_user=False,
    typical=1.0,
    requests_per_minute=2000,
    users_per_day=None,
)


def test_points_are_the_statistics_rate_times_a_hundred() -> None:
    expected = in_rates(
        StageTraffic(2000, 0.05, 0.01, 0.025, Comparison.CONTROL, 0.005, 0.01), 120
    )
    assert detectable_effect(QUERY) == pytest.approx(expected * 100)


def test_percent_of_the_typical_value_scales_by_it() -> None:
    query = replace(QUERY, unit=Unit.PERCENT, margin=50, mde=100)  # 0.5 and 1 pt
    in_points = detectable_effect(QUERY)
    assert in_points is not None
    assert detectable_effect(query) == pytest.approx(in_points * 100)


def test_an_absolute_limit_needs_no_typical_value() -> None:
    query = replace(QUERY, comparison="absolute", margin=5, typical=None)
    expected = in_rates(
        StageTraffic(2000, 0.05, 0.05, 0.025, Comparison.ABSOLUTE, mde=0.01), 120
    )
    assert detectable_effect(query) == pytest.approx(expected * 100)


@pytest.mark.parametrize(
    "change",
    [
        {"typical": None},  # a comparison needs today's value
        {"requests_per_minute": None},
        {"percent": False},  # a mean: its spread is not in the plan
        {"share": 1.0},  # no control left
    ],
)
def test_what_the_plan_does_not_say_is_unknown(change: dict[str, object]) -> None:
    assert detectable_effect(replace(QUERY, **change)) is None  # type: ignore[arg-type]


def test_a_stage_with_too_little_traffic_detects_nothing() -> None:
    query = replace(QUERY, requests_per_minute=0.01, hold_minutes=1)
    effect = detectable_effect(query)
    assert effect is not None and math.isinf(effect)


def test_every_vaos_stage_can_catch_its_mde_at_the_plans_traffic() -> None:
    # The canaries' error criterion asks for 3 points, the later stages for 1:
    # what a 5 % canary held for an hour at 400 requests/minute can detect.
    text = (EXAMPLES / "vaos-service-integration.yaml").read_text(encoding="utf-8")
    rows = detectability(load_plan(text, "vaos.yaml").plan, detectable_effect)
    errors = [r for r in rows if r.query.criterion == "errors"]
    canary = [r for r in errors if r.query.stage.startswith("Stage A")]
    assert {r.query.mde for r in canary} == {3.0}
    assert all(r.catches_mde for r in errors)
    assert all(r.effect is not None and r.effect > 1 for r in canary)
