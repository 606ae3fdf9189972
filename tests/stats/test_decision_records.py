"""Decision records: plain JSON, exact round trips, a resumed run stays harmful."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flagramp.core.errors import StatsError
from flagramp.core.severity import Severity
from flagramp.stats import (
    Comparison,
    CountLimit,
    Evidence,
    FingerprintTally,
    GuardDecision,
    GuardOutcome,
    NoveltyBudget,
    RatioGuard,
    arm_from_totals,
    check_sample_ratio,
    evaluate_count_limit,
    evaluate_novelty,
    evaluate_ratio_guard,
)

_any_float = st.floats(allow_nan=True, allow_infinity=True)


def _same(a: object, b: object) -> bool:
    # Equality that counts NaN as equal to NaN (a stored NaN is still "no value").
    if isinstance(a, float) and isinstance(b, float):
        return (math.isnan(a) and math.isnan(b)) or a == b
    if isinstance(a, tuple) and isinstance(b, tuple):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return a == b


def _fields(d: GuardDecision) -> tuple[Any, ...]:
    e = d.evidence
    return (
        d.guard,
        d.outcome,
        d.severity,
        *(getattr(e, f) for f in Evidence.__slots__),
    )


def _through_json(d: GuardDecision) -> GuardDecision:
    text = json.dumps(d.to_record(), allow_nan=False)
    return GuardDecision.from_record(json.loads(text))


decisions = st.builds(
    GuardDecision,
    guard=st.text(max_size=20),
    outcome=st.sampled_from(list(GuardOutcome)),
    severity=st.sampled_from(list(Severity)),
    evidence=st.builds(
        Evidence,
        test=st.text(max_size=30),
        estimate=_any_float,
        lower=_any_float,
        upper=_any_float,
        treatment_size=_any_float,
        alpha=_any_float,
        reference=st.none() | _any_float,
        reference_size=st.none() | _any_float,
        statistic=_any_float,
        threshold=_any_float,
        notes=st.lists(st.text(max_size=20), max_size=3).map(tuple),
        beta=st.none() | _any_float,
        healthy_statistic=_any_float,
        healthy_threshold=_any_float,
    ),
)


@settings(max_examples=200, deadline=None)
@given(decision=decisions)
def test_records_are_strict_json_and_round_trip_exactly(
    decision: GuardDecision,
) -> None:
    back = _through_json(decision)
    assert _same(_fields(back), _fields(decision))
    assert back.to_record() == decision.to_record()  # records hold no NaN
    assert json.dumps(back.to_record()) == json.dumps(decision.to_record())


def _real_decisions() -> list[GuardDecision]:
    g = RatioGuard("error rate", Comparison.CONTROL, 0.0, 0.01, 0.025)
    c = arm_from_totals(570, 57000)
    budget = NoveltyBudget(0.025, 0.05, 50)
    return [
        evaluate_ratio_guard(g, arm_from_totals(60, 3000), c),  # harmful
        evaluate_ratio_guard(g, arm_from_totals(1, 100), c),  # inconclusive
        evaluate_ratio_guard(g, arm_from_totals(0, 0), c),  # no data: inf bounds
        evaluate_count_limit(CountLimit("calls", 2), 3),
        evaluate_novelty(budget, [FingerprintTally("E1 /a", 4, 0, 1.0)], []),
        check_sample_ratio([950, 50], [0.95, 0.05]),
    ]


@pytest.mark.parametrize("decision", _real_decisions(), ids=lambda d: d.guard)
def test_every_kind_of_decision_round_trips(decision: GuardDecision) -> None:
    assert _same(_fields(_through_json(decision)), _fields(decision))


def test_a_resumed_run_keeps_a_harmful_result_harmful() -> None:
    # Issue 16 item 8: the engine stores the last decision between ticks.
    g = RatioGuard("error rate", Comparison.CONTROL, 0.0, 0.01, 0.025)
    c = arm_from_totals(570, 57000)
    harmful = evaluate_ratio_guard(g, arm_from_totals(60, 3000), c)
    stored = json.dumps(harmful.to_record(), allow_nan=False)
    later = (arm_from_totals(300, 30000), arm_from_totals(5700, 570000))
    resumed = evaluate_ratio_guard(
        g, *later, GuardDecision.from_record(json.loads(stored))
    )
    assert resumed.is_harmful
    assert resumed == evaluate_ratio_guard(g, *later, harmful)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"format": 99}, "format"),
        ({"outcome": "fine"}, "outcome"),
        ({"severity": None}, "severity"),
        ({"guard": 3}, "guard"),
        ({"evidence": []}, "evidence"),
    ],
)
def test_malformed_records_name_the_field(
    change: dict[str, object], field: str
) -> None:
    record = _real_decisions()[0].to_record()
    record.update(change)
    with pytest.raises(StatsError, match=field):
        GuardDecision.from_record(record)


@pytest.mark.parametrize(
    ("key", "value"),
    [("lower", "low"), ("estimate", True), ("notes", "one"), ("beta", [0.1])],
)
def test_malformed_evidence_names_the_field(key: str, value: object) -> None:
    record = _real_decisions()[0].to_record()
    evidence = dict(record["evidence"])  # type: ignore[call-overload]
    evidence[key] = value
    record["evidence"] = evidence
    with pytest.raises(StatsError, match=key):
        GuardDecision.from_record(record)
