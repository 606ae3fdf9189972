"""The UAE dark deploy (seed 003): criteria against baselines measured before it."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from flagramp.core.flags import Segment
from flagramp.core.plans import Plan, load_plan
from flagramp.engine.baselines import baseline_arms, baseline_fingerprints
from flagramp.engine.compile import compile_stage, metric_specs
from flagramp.engine.compiled import CompiledStage
from flagramp.engine.evaluate import evaluate_stage
from flagramp.engine.evaluation import StageEvaluation
from flagramp.sim import FlagState, Regression, RegressionKind, span_batches
from flagramp.sim.examples import UAE_FLAG, uae_world
from flagramp.stats import GuardOutcome, arm_from_totals
from flagramp.stats.ingest import WindowIngest
from flagramp.stats.windows import Lane, Window
from tests.sim.worlds import MONDAY

EXAMPLES = Path(__file__).parents[2] / "examples"
START, MINUTES = MONDAY + 600, 90
LAST = START + MINUTES - 1
ORACLE = Segment.from_rules("oracle_patients", ["ehr in [oracle, dual]"])


@functools.cache
def _plan() -> Plan:
    path = EXAMPLES / "uae-appointments-dark-deploy.yaml"
    return load_plan(path.read_text(encoding="utf-8"), path.name).plan


def _stage() -> CompiledStage:
    return compile_stage(_plan(), 0, 2)  # Limited rollout, 20 % of the eligible


def _windows(
    start: int, percentage: float, scope: str, *regressions: Regression
) -> tuple[Window, ...]:
    world = uae_world().with_regressions(*regressions)
    ingest = WindowIngest(scope, UAE_FLAG, metric_specs(_plan().metrics))
    state = [FlagState(UAE_FLAG, percentage, eligibility=ORACLE)]
    for batch in span_batches(5, world, start, start + MINUTES, state):
        ingest.add_batch(batch)
    return ingest.windows()


@functools.cache
def _before() -> tuple[Window, ...]:
    return _windows(START - MINUTES, 0.0, "R1/baseline")


@functools.cache
def _healthy() -> tuple[Window, ...]:
    return _windows(START, 20.0, "R1/limited")


@functools.cache
def _fetches_failing() -> tuple[Window, ...]:
    fetch = Regression(
        RegressionKind.RATE, 0.05, START, flag=UAE_FLAG, target="appointment_fetch"
    )
    return _windows(START, 20.0, "R1/limited", fetch)


def _evaluate(windows: tuple[Window, ...], **kw: Any) -> StageEvaluation:
    stage = _stage()
    return evaluate_stage(
        stage,
        {UAE_FLAG: windows},
        minute=LAST,
        started=START,
        baselines=baseline_arms(stage, _before()),
        baseline_fingerprints=baseline_fingerprints(_before()),
        **kw,
    )


def _outcomes(ev: StageEvaluation) -> dict[str, GuardOutcome]:
    return {c.criterion: c.decision.outcome for c in ev.checks}


def test_baselines_are_measured_on_the_users_off_before_the_run() -> None:
    arms = baseline_arms(_stage(), _before())
    # Oracle's API is called only with the flag on: nothing to measure before.
    assert set(arms) == {"fetch_failures", "booking_success", "cancellation_success"}
    assert 0.0 < arms["fetch_failures"].estimate < 0.02
    assert 0.9 < arms["booking_success"].estimate <= 1.0
    known = baseline_fingerprints(_before())
    assert known and all(count > 0 for count in known.values())


def test_a_healthy_dark_deploy_is_never_harmful() -> None:
    ev = _evaluate(_healthy())
    outcomes = _outcomes(ev)
    assert GuardOutcome.HARMFUL not in outcomes.values(), ev.harmful
    assert ev.health.ok and ev.srm_p is not None
    # Metrics without a measurable baseline wait for one; Datadog's error rate
    # has no windows: both are inconclusive, never healthy by default.
    assert outcomes["oracle_latency"] is GuardOutcome.INCONCLUSIVE
    assert outcomes["api_errors"] is GuardOutcome.INCONCLUSIVE


def test_failing_fetches_are_harmful_against_the_baseline() -> None:
    ev = _evaluate(_fetches_failing())
    assert _outcomes(ev)["fetch_failures"] is GuardOutcome.HARMFUL
    assert {c.criterion for c in ev.harmful} == {"fetch_failures"}
    (harm,) = ev.harmful
    assert harm.acts and harm.decision.evidence.reference is not None


def test_a_source_metric_is_judged_on_the_source_arms() -> None:
    baseline = {"api_errors": arm_from_totals(50.0, 10_000.0)}
    arms = {
        "api_error_rate": {
            Lane.ON: arm_from_totals(200.0, 2_000.0),
            Lane.OFF: arm_from_totals(40.0, 8_000.0),
        }
    }
    stage = _stage()
    ev = evaluate_stage(
        stage, {UAE_FLAG: _healthy()}, minute=LAST, started=START,
        baselines=baseline, source_arms=arms,
    )  # fmt: skip
    decision = next(c for c in ev.checks if c.criterion == "api_errors").decision
    assert decision.outcome is GuardOutcome.HARMFUL
    assert decision.evidence.estimate == 0.1
    assert any("no per-user data" in n for n in decision.evidence.notes)
