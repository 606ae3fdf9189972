"""A stage's windows into decisions: the VAOS example against the simulator."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from typing import Any

import numpy as np

from flagramp.core.plans import Mode
from flagramp.core.severity import Severity
from flagramp.engine.compiled import (
    CompiledCount,
    CompiledNovelty,
    CompiledRatio,
    CompiledStage,
)
from flagramp.engine.evaluate import evaluate_stage, previous_decisions
from flagramp.engine.evaluation import StageEvaluation
from flagramp.sim import ON, span_aggregate
from flagramp.sim.examples import VAOS_FLAGS, vaos_world
from flagramp.stats import (
    Comparison,
    GuardOutcome,
    RatioGuard,
    arm_from_buckets,
    baseline,
)
from flagramp.stats.windows import Lane, Window, merge_all
from tests.engine.stage_windows import (
    FLAG,
    MINUTES,
    NEW_ERROR,
    START,
    flag_states,
    healthy,
    regressed,
    until,
    vaos_stage,
)

LAST = START + MINUTES - 1


def _evaluate(
    windows: Sequence[Window],
    minute: int,
    stage: CompiledStage | None = None,
    **kw: Any,
) -> StageEvaluation:
    return evaluate_stage(
        stage or vaos_stage(),
        {FLAG: until(windows, minute)},
        minute=minute,
        started=START,
        **kw,
    )


def _outcome(ev: StageEvaluation, criterion: str) -> GuardOutcome:
    return next(c for c in ev.checks if c.criterion == criterion).decision.outcome


def test_healthy_traffic_is_never_harmful_and_ends_healthy() -> None:
    windows = healthy()
    previous = None
    for minute in range(START + 5, LAST + 1, 10):
        ev = _evaluate(windows, minute, previous=previous_decisions(previous))
        assert not ev.harmful, [c.decision.evidence.notes for c in ev.harmful]
        assert ev.health.ok, ev.health
        previous = ev
    assert previous is not None
    assert previous.acting_healthy
    assert [c.criterion for c in previous.checks] == [
        "abandonment",
        "contact_center_calls",
        "errors",
    ]
    assert all(c.acts for c in previous.checks)
    errors = next(c for c in previous.checks if c.criterion == "errors")
    # The upper bound is what "healthy" means: it rules out 5 % + 1 point.
    assert errors.decision.evidence.upper < 0.06
    assert previous.srm_p is not None and previous.srm_p > 0.001


def test_users_are_the_stage_distinct_exposed_users_per_lane() -> None:
    states = flag_states(25.0)
    agg = span_aggregate(3, vaos_world(), START, START + MINUTES, states).flags[FLAG]
    ev = _evaluate(healthy(), LAST)
    assert ev.treatment_users == agg.exposed_users(ON).size
    assert ev.control_users + ev.treatment_users == (
        sum(agg.exposed_users(lane).size for lane in range(3))
    )
    assert ev.allow_listed_users == 0
    assert 0.22 < ev.treatment_users / (ev.treatment_users + ev.control_users) < 0.28
    assert ev.latest_data_minute == LAST


def test_requests_are_treatment_request_events() -> None:
    ev = _evaluate(healthy(), LAST)
    on = merge_all(w for w in healthy() if w.key.lane is Lane.ON)
    expected = sum(c.count for k, c in on.breakdown.items() if k[2])
    assert ev.requests == expected
    vaos = on.metrics["error_rate"].sums.total_denominator
    assert vaos < ev.requests  # page loads are requests too


def test_error_rate_past_the_limit_is_harmful_for_the_error_criterion_only() -> None:
    ev = _evaluate(regressed(), START + 60)
    assert _outcome(ev, "errors") is GuardOutcome.HARMFUL
    assert _outcome(ev, "abandonment") is not GuardOutcome.HARMFUL
    (harm,) = ev.harmful
    assert harm.decision.severity is Severity.CRITICAL
    assert harm.mode is Mode.ROLLBACK and harm.acts
    assert harm.decision.evidence.lower > 0.05
    assert not ev.acting_healthy


def test_a_regression_is_caught_within_the_stage_and_stays_caught() -> None:
    caught = None
    previous = None
    for minute in range(START, LAST + 1, 5):
        ev = _evaluate(regressed(), minute, previous=previous_decisions(previous))
        if caught is None and _outcome(ev, "errors") is GuardOutcome.HARMFUL:
            caught = minute - START
        if caught is not None:
            assert _outcome(ev, "errors") is GuardOutcome.HARMFUL
        previous = ev
    assert caught is not None and caught <= 30


def test_a_previous_harmful_decision_stays_harmful_without_new_data() -> None:
    harmful = _evaluate(regressed(), START + 60)
    later = _evaluate(healthy(), START + 60, previous=previous_decisions(harmful))
    assert _outcome(later, "errors") is GuardOutcome.HARMFUL
    fresh = _evaluate(healthy(), START + 60)
    assert _outcome(fresh, "errors") is not GuardOutcome.HARMFUL


def test_observe_mode_reports_and_never_acts() -> None:
    ev = _evaluate(regressed(), START + 60, observe=True)
    assert ev.harmful and not any(c.acts for c in ev.checks)
    assert ev.acting_healthy  # nothing acts, so nothing blocks


def test_fingerprints_list_the_new_class_first_with_samples() -> None:
    ev = _evaluate(regressed(), LAST)
    first = ev.fingerprints[0]
    assert first["name"] == NEW_ERROR and first["new"] is True
    assert isinstance(first["count"], int) and first["count"] > 10
    assert isinstance(first["first_seen"], int)
    assert START <= first["first_seen"] <= LAST
    assert first["samples"] and len(first["samples"]) <= 3  # type: ignore[arg-type]
    json.dumps(ev.to_json(), allow_nan=False)
    baseline_seen = {str(f["name"]): 5 for f in ev.fingerprints}
    again = _evaluate(regressed(), LAST, baseline_fingerprints=baseline_seen)
    assert not any(f["new"] for f in again.fingerprints)


def _novelty(min_users: int = 3) -> CompiledNovelty:
    return CompiledNovelty(
        criterion="new_error_class",
        mode=Mode.ROLLBACK,
        acts=True,
        alpha=0.01,
        share=0.25,
        severity=Severity.CRITICAL,
        event=None,
        fingerprints=None,
        min_users=min_users,
    )


def _known() -> dict[str, int]:
    names = {n for w in (*healthy(), *regressed()) for n in w.fingerprints}
    return {n: 10 for n in names - {NEW_ERROR}}


def test_a_new_error_class_only_treatment_hits_is_harmful() -> None:
    stage = dataclasses.replace(vaos_stage(), checks=(_novelty(),))
    # The new service is called only with the toggle on, so its usual
    # fingerprints are treatment-only too: the baseline must know them (and
    # those the raised error rate brings out: only the new class is unknown).
    known = _known()
    calm = _evaluate(healthy(), LAST, stage=stage, baseline_fingerprints=known)
    assert _outcome(calm, "new_error_class") is GuardOutcome.HEALTHY
    hit = _evaluate(regressed(), LAST, stage=stage, baseline_fingerprints=known)
    assert _outcome(hit, "new_error_class") is GuardOutcome.HARMFUL
    notes = hit.checks[0].decision.evidence.notes
    assert any(NEW_ERROR in n for n in notes) and len(notes) == 1


def test_min_users_is_a_floor_on_the_users_a_new_class_needs() -> None:
    def novelty(floor: int) -> GuardOutcome:
        stage = dataclasses.replace(vaos_stage(), checks=(_novelty(floor),))
        ev = _evaluate(regressed(), LAST, stage=stage, baseline_fingerprints=_known())
        return _outcome(ev, "new_error_class")

    ev = _evaluate(regressed(), LAST)
    users = next(f["users"] for f in ev.fingerprints if f["name"] == NEW_ERROR)
    assert isinstance(users, int)
    assert novelty(1) is GuardOutcome.HARMFUL
    assert novelty(users) is GuardOutcome.HARMFUL
    assert novelty(users + 1) is GuardOutcome.HEALTHY


def _baseline_check(*, relative: bool = False) -> CompiledRatio:
    guard = RatioGuard(
        "errors_vs_baseline",
        Comparison.BASELINE,
        0.2 if relative else 0.0,
        0.5 if relative else 0.01,
        0.02,
        Severity.CRITICAL,
    )
    return CompiledRatio(
        criterion="errors_vs_baseline",
        metric="error_rate",
        mode=Mode.ROLLBACK,
        acts=True,
        guard=guard,
        relative=relative,
    )


def test_a_baseline_criterion_waits_for_its_baseline_then_decides() -> None:
    stage = dataclasses.replace(vaos_stage(), checks=(_baseline_check(),))
    missing = _evaluate(regressed(), LAST, stage=stage)
    assert _outcome(missing, "errors_vs_baseline") is GuardOutcome.INCONCLUSIVE
    assert "no baseline" in missing.checks[0].decision.evidence.notes[0]
    before = {"errors_vs_baseline": baseline(0.01, 1e-7, 50_000.0)}
    calm = _evaluate(healthy(), LAST, stage=stage, baselines=before)
    assert _outcome(calm, "errors_vs_baseline") is GuardOutcome.HEALTHY
    hit = _evaluate(regressed(), LAST, stage=stage, baselines=before)
    assert _outcome(hit, "errors_vs_baseline") is GuardOutcome.HARMFUL
    assert hit.checks[0].decision.evidence.reference == 0.01


def test_a_percent_of_baseline_tolerance_needs_a_rate_above_zero() -> None:
    stage = dataclasses.replace(vaos_stage(), checks=(_baseline_check(relative=True),))
    zero = {"errors_vs_baseline": baseline(0.0, 0.0, 50_000.0)}
    ev = _evaluate(regressed(), LAST, stage=stage, baselines=zero)
    assert _outcome(ev, "errors_vs_baseline") is GuardOutcome.INCONCLUSIVE
    # 10 % against a 1 % baseline is far past 20 % more.
    one = {"errors_vs_baseline": baseline(0.01, 1e-7, 50_000.0)}
    ev = _evaluate(regressed(), LAST, stage=stage, baselines=one)
    assert _outcome(ev, "errors_vs_baseline") is GuardOutcome.HARMFUL


def test_a_control_comparison_without_control_data_is_inconclusive() -> None:
    # VAOS's new service is never called with the toggle off: no control rate.
    guard = RatioGuard("errors_vs_control", Comparison.CONTROL, 0.0, 0.01, 0.02)
    check = CompiledRatio("errors_vs_control", "error_rate", Mode.PAUSE, True, guard)
    stage = dataclasses.replace(vaos_stage(), checks=(check,))
    ev = _evaluate(regressed(), LAST, stage=stage)
    assert _outcome(ev, "errors_vs_control") is GuardOutcome.INCONCLUSIVE
    assert "no control data" in " ".join(ev.checks[0].decision.evidence.notes)
    # Abandonment is measured in both lanes: compared, it is healthy.
    guard = RatioGuard("abandon_vs_control", Comparison.CONTROL, 0.02, 0.05, 0.02)
    check = CompiledRatio(
        "abandon_vs_control", "abandonment_rate", Mode.PAUSE, True, guard
    )
    stage = dataclasses.replace(vaos_stage(), checks=(check,))
    ev = _evaluate(healthy(), LAST, stage=stage)
    decision = ev.checks[0].decision
    assert decision.outcome is GuardOutcome.HEALTHY
    off = merge_all(w for w in healthy() if w.key.lane is Lane.OFF)
    assert (
        decision.evidence.reference
        == arm_from_buckets(off.metrics["abandonment_rate"].sums).estimate
    )


def _count_check(*, keep: bool = False) -> CompiledCount:
    stage = vaos_stage()
    check = next(c for c in stage.checks if isinstance(c, CompiledCount))
    return dataclasses.replace(check, resets_after_step_back=not keep)


def test_environment_level_counts_take_the_events_without_an_actor() -> None:
    check = _count_check()
    assert check.environment_level
    stage = dataclasses.replace(vaos_stage(), checks=(check,))
    quiet = _evaluate(healthy(), LAST, stage=stage)
    assert _outcome(quiet, check.criterion) is GuardOutcome.HEALTHY
    calls = {"contact_center_calls": 2}
    loud = _evaluate(healthy(), LAST, stage=stage, environment_counts=calls)
    assert _outcome(loud, check.criterion) is GuardOutcome.HARMFUL
    assert loud.checks[0].decision.evidence.estimate == 2.0


def test_a_count_kept_over_attempts_adds_the_earlier_ones() -> None:
    calls = {"contact_center_calls": 1}
    for keep, expected in ((False, GuardOutcome.HEALTHY), (True, GuardOutcome.HARMFUL)):
        stage = dataclasses.replace(vaos_stage(), checks=(_count_check(keep=keep),))
        ev = _evaluate(
            healthy(),
            LAST,
            stage=stage,
            environment_counts=calls,
            prior_counts={"contact_center_calls": 1},
        )
        assert _outcome(ev, "contact_center_calls") is expected


def test_a_treatment_count_counts_the_treatment_lane_only() -> None:
    check = dataclasses.replace(_count_check(), metric="abandonment_rate",
                                environment_level=False)  # fmt: skip
    stage = dataclasses.replace(vaos_stage(), checks=(check,))
    ev = _evaluate(healthy(), LAST, stage=stage)
    on = merge_all(w for w in healthy() if w.key.lane is Lane.ON)
    expected = on.metrics["abandonment_rate"].sums.total_numerator
    assert ev.checks[0].decision.evidence.estimate == expected > 2


def test_the_phase_first_flag_is_evaluated_and_every_flag_dates_the_data() -> None:
    second = VAOS_FLAGS[1][0]
    flags = (
        vaos_stage().flags[0],
        dataclasses.replace(vaos_stage().flags[0], flag=second),
    )
    stage = dataclasses.replace(vaos_stage(), flags=flags)
    later = [
        dataclasses.replace(w, key=dataclasses.replace(w.key, flag=second))
        for w in until(regressed(), LAST)
    ]
    ev = evaluate_stage(
        stage,
        {FLAG: until(healthy(), START + 60), second: later},
        minute=LAST,
        started=START,
    )
    assert not ev.harmful
    assert ev.latest_data_minute == LAST
    assert ev.treatment_users == _evaluate(healthy(), START + 60).treatment_users


def test_a_uat_stage_judges_the_allow_listed_users_and_never_acts() -> None:
    stage = vaos_stage()
    uat = dataclasses.replace(
        stage,
        treatment_share=0.0,
        allow_list_only=True,
        checks=tuple(dataclasses.replace(c, acts=False) for c in stage.checks),
    )
    # The regressed treatment, relabelled as testers; control as it was.
    windows = tuple(
        dataclasses.replace(w, key=dataclasses.replace(w.key, lane=Lane.ALLOW_LISTED))
        if w.key.lane is Lane.ON
        else w
        for w in regressed()
    )
    ev = _evaluate(windows, LAST, stage=uat)
    assert _outcome(ev, "errors") is GuardOutcome.HARMFUL
    assert not any(c.acts for c in ev.checks)
    assert ev.treatment_users == 0 and ev.allow_listed_users > 0
    assert ev.srm_p is None and ev.health.ok
    assert ev.requests > 0 and ev.fingerprints


def test_windows_outside_the_stage_are_ignored() -> None:
    early = _evaluate(healthy(), START + 30)
    everything = evaluate_stage(
        vaos_stage(), {FLAG: healthy()}, minute=START + 30, started=START
    )
    assert everything.treatment_users == early.treatment_users
    shifted = evaluate_stage(
        vaos_stage(), {FLAG: healthy()}, minute=LAST, started=START + 60
    )
    late = [w for w in healthy() if w.key.start >= START + 60]
    on = sum(w.exposed.total_numerator for w in late if w.key.lane is Lane.ON)
    assert shifted.treatment_users == round(on)


def test_numbers_in_the_evaluation_are_plain_json() -> None:
    ev = _evaluate(healthy(), LAST)
    record = json.loads(json.dumps(ev.to_json(), allow_nan=False))
    assert record["treatment_users"] == ev.treatment_users
    assert record["health"] == {"reason": None, "since": None, "srm": False}
    assert np.isfinite(record["srm_p"])
