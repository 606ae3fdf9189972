"""Secure Messaging's UAT stage (seed 001): two allow-listed testers, judged apart."""

from __future__ import annotations

import dataclasses
import functools
from pathlib import Path

from flagramp.core.plans import load_plan
from flagramp.engine.compile import compile_stage, metric_specs
from flagramp.engine.compiled import CompiledStage
from flagramp.engine.evaluate import evaluate_stage
from flagramp.sim import FlagState, span_batches
from flagramp.sim.examples import SM_FLAGS, SM_TESTERS, secure_messaging_world
from flagramp.stats import GuardOutcome
from flagramp.stats.ingest import WindowIngest
from flagramp.stats.windows import Lane, Window
from tests.sim.worlds import MONDAY

EXAMPLES = Path(__file__).parents[2] / "examples"
START, MINUTES = MONDAY + 600, 120
LAST = START + MINUTES - 1


@functools.cache
def _uat() -> tuple[CompiledStage, tuple[Window, ...]]:
    path = EXAMPLES / "secure-messaging-oracle-health.yaml"
    plan = load_plan(path.read_text(encoding="utf-8"), path.name).plan
    stage = compile_stage(plan, 0, 0)
    world = secure_messaging_world(requests_per_minute=30.0)
    # The testers work through the new flow all morning (seed 001's sessions).
    busy = dataclasses.replace(world.population, named_visits_per_day=2000.0)
    world = dataclasses.replace(world, population=busy)
    flag = SM_FLAGS[0]
    ingest = WindowIngest("R2/uat", flag, metric_specs(plan.metrics))
    states = [FlagState(flag, 0.0, allow_list=SM_TESTERS), FlagState(SM_FLAGS[1])]
    for batch in span_batches(11, world, START, START + MINUTES, states):
        ingest.add_batch(batch)
    return stage, ingest.windows()


def test_the_uat_stage_is_computed_over_the_testers_and_never_acts() -> None:
    stage, windows = _uat()
    assert stage.allow_list_only and stage.treatment_share == 0.0
    ev = evaluate_stage(stage, {SM_FLAGS[0]: windows}, minute=LAST, started=START)
    assert ev.allow_listed_users == len(SM_TESTERS)
    assert ev.treatment_users == 0 and ev.control_users > 100
    assert ev.srm_p is None and ev.health.ok
    assert [c.criterion for c in ev.checks] == ["uat_errors", "uat_slow_sends"]
    assert not any(c.acts for c in ev.checks)
    slow = ev.checks[1].decision
    # The new flow sends from /select-care-team, slowly: about 13 % of sends
    # take over 4 s (seed 001's UAT found 4-23 s), far past the 5 % limit.
    assert slow.evidence.treatment_size > 20
    assert slow.evidence.estimate > 0.05
    assert slow.outcome is not GuardOutcome.HEALTHY
    # Everyone else sends from the old page: control has no such sends.
    off = [w for w in windows if w.key.lane is Lane.OFF]
    assert all(
        w.metrics["slow_sends"].sums.total_denominator == 0
        for w in off
        if "slow_sends" in w.metrics
    )
    assert ev.requests > 0
