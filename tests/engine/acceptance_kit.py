"""Statistical acceptance of the engine: simulated runs of a three-stage plan.

Issue 20's plan: 5 %, 25 % and 50 %, 2-hour holds, 2,000 requests a minute, a
1 % base error rate, one criterion (the error rate against control, rolled back
when harmful). Each run goes through the pure machine (`engine.machine`) and
`evaluate_stage`, in memory: the simulator's fast many-replicate model
(`sim.traffic.minute_users`: fresh users every minute, one replicate a run)
gives each minute's users, requests and failures per user bucket; the
machine's flag moves set the treatment share of the traffic that follows, and
each stage attempt's windows are kept apart, as the engine's ingest scopes are.
The controller looks every `TICK` minutes (the tests are always valid, so the
cadence changes no error rate).

Used by `tests/engine/test_acceptance.py` (a few dozen runs) and
`bench/engine_acceptance.py` (hundreds).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from flagramp.core.metric_kinds import MetricKind
from flagramp.core.plans import Answer, load_plan
from flagramp.engine import machine
from flagramp.engine.commands import Vote
from flagramp.engine.compile import compile_plan
from flagramp.engine.compiled import CompiledRatio
from flagramp.engine.evaluate import evaluate_stage, previous_decisions
from flagramp.engine.evaluation import Observation, StageEvaluation
from flagramp.engine.machine import RunContext
from flagramp.engine.run_state import RunState, RunStatus
from flagramp.engine.scopes import epoch_minute
from flagramp.sim import Regression, RegressionKind, Scenario
from flagramp.sim.traffic import minute_users
from flagramp.stats.buckets import BucketSums
from flagramp.stats.sketches import DistinctActors
from flagramp.stats.windows import Lane, MetricAggregate, Window, WindowKey

__all__ = ["PLAN", "RunOutcome", "Summary", "run_once", "summarise"]

FLAG = "checkout_v2"
#: Minutes between two looks of the controller (the time-to-rollback figures
#: are as coarse; `bench/engine.py` looks every few minutes).
TICK = 30
START = dt.datetime(2026, 1, 5, 10, 0, tzinfo=dt.UTC)
PLAN = f"""\
name: acceptance
title: Issue 20's statistical acceptance plan
owner: eng
product_owner: eng
environment: production
roles:
  eng: {{people: [eng@example.org], signs: [go_no_go, re-enable]}}
flags:
  {FLAG}: {{create: true}}
events:
  request: {{kind: request}}
metrics:
  error_rate: {{kind: ratio, numerator: request_failed, denominator: request}}
x-criteria: &criteria
  - name: errors_vs_control
    kind: relative_to_control
    metric: error_rate
    max_increase: 0.25
    mde: 0.75
    severity: critical
    mode: rollback
phases:
  - name: rollout
    flags: [{FLAG}]
    stages:
      - {{name: five, percentage: 5, hold: 2h, max_time: 2h, criteria: *criteria}}
      - {{name: quarter, percentage: 25, hold: 2h, max_time: 2h, criteria: *criteria}}
      - {{name: half, percentage: 50, hold: 2h, max_time: 2h, criteria: *criteria}}
rollback:
  severities:
    critical: {{action: disable_all}}
  re-enable: {{approved_by: [eng]}}
"""


@dataclass(frozen=True, slots=True)
class RunOutcome:
    """How one simulated run ended."""

    rolled_back_at: int | None
    """The stage index the run was rolled back in; None: it was not."""
    minutes_to_rollback: int | None
    """Minutes from the regression's start to the rollback (None: none)."""
    passed: int
    """Stages passed."""


def _context() -> RunContext:
    plan = load_plan(PLAN, "acceptance.yaml").plan
    return RunContext("R1", plan, compile_plan(plan), plan.environment)


_CONTEXT = _context()


def _windows(
    seed: int, scenario: Scenario, minute: int, end: int, epoch: int
) -> list[Window]:
    """The windows of minutes [minute, end) of one run: one per lane."""
    size = scenario.buckets
    lanes = ((Lane.OFF, False), (Lane.ON, True))
    users = {lane: np.zeros(size) for lane, _ in lanes}
    requests = {lane: np.zeros(size) for lane, _ in lanes}
    errors = {lane: np.zeros(size) for lane, _ in lanes}
    hashes: dict[Lane, list[int]] = {lane: [] for lane, _ in lanes}
    for m in range(minute, end):
        block = minute_users(seed, scenario, m)
        for lane, treated in lanes:
            mine = block.treatment == treated
            bucket = block.bucket[mine]
            users[lane] += np.bincount(bucket, minlength=size)
            requests[lane] += np.bincount(
                bucket, weights=block.requests[mine], minlength=size
            )
            errors[lane] += np.bincount(
                bucket, weights=block.errors[mine], minlength=size
            )
            # Users are fresh every minute in this model: one id per user.
            base = ((seed * 1_000_003 + m) * 2 + treated) * 100_000
            hashes[lane].extend(range(base, base + int(mine.sum())))
    out = []
    for lane, _ in lanes:
        if not users[lane].sum():
            continue
        out.append(
            Window(
                WindowKey("R1", FLAG, lane, epoch + minute, epoch + end),
                BucketSums(users[lane], users[lane].copy()),
                DistinctActors.of(hashes[lane]),
                {
                    "error_rate": MetricAggregate(
                        MetricKind.RATIO, BucketSums(errors[lane], requests[lane])
                    )
                },
                {},
                {},
            )
        )
    return out


#: Requests a minute and the base error rate of issue 20's acceptance.
REQUESTS_PER_MINUTE = 2000.0
BASE_ERROR_RATE = 0.01
#: Minutes after which a run that neither completed nor rolled back gives up.
LIMIT = 12 * 60


def run_once(
    seed: int, regressed_from: int | None = None, *, tick: int = TICK
) -> RunOutcome:
    """One run of the plan; the treatment's error rate doubles from the stage
    `regressed_from` (an index) on, or never. The controller looks every
    `tick` minutes."""
    ctx = _CONTEXT
    epoch = epoch_minute(START)
    first = machine.start(ctx, START)
    state = first.state
    share = next((m.percentage / 100.0 for m in first.flag_moves), 0.0)
    minute, passed = 0, 0
    regression: Regression | None = None
    if regressed_from == 0:
        regression = Regression(RegressionKind.RATE, BASE_ERROR_RATE)
    windows: list[Window] = []
    entered: dt.datetime | None = None
    last: StageEvaluation | None = None
    while minute <= LIMIT:
        now = START + dt.timedelta(minutes=minute)
        for _ in range(20):
            if state.stage_entered_at != entered:
                entered, windows, last = state.stage_entered_at, [], None
            evaluation = _evaluate(state, windows, epoch + minute, last)
            last = evaluation or last
            step = machine.tick(ctx, state, now, Observation(evaluation))
            if not step.changed:
                break
            state = step.state
            for move in step.flag_moves:
                share = move.percentage / 100.0
            kinds = {e.kind for e in step.events}
            if "stage_left" in kinds:
                passed += 1
            if "rolled_back" in kinds:
                began = None if regression is None else regression.start_minute
                return RunOutcome(
                    state.stage if state.stage is not None else -1,
                    None if began is None else minute - began,
                    passed,
                )
            if (
                "stage_entered" in kinds
                and regression is None
                and regressed_from is not None
                and state.stage == regressed_from
            ):
                regression = Regression(
                    RegressionKind.RATE, BASE_ERROR_RATE, start_minute=minute
                )
        if state.status is RunStatus.AWAITING_GO_NO_GO:
            vote = Vote("eng@example.org", "eng", Answer.LAUNCH, "on the evidence")
            state = machine.command(ctx, state, now, vote).state
            continue
        if state.status.is_final or state.status is not RunStatus.STAGE_RUNNING:
            break
        scenario = Scenario(
            REQUESTS_PER_MINUTE,
            treatment_share=share,
            error_rate=BASE_ERROR_RATE,
            regressions=() if regression is None else (regression,),
        )
        windows += _windows(seed, scenario, minute, minute + tick, epoch)
        minute += tick
    return RunOutcome(None, None, passed)


def _evaluate(
    state: RunState,
    windows: Sequence[Window],
    minute: int,
    last: StageEvaluation | None,
) -> StageEvaluation | None:
    where = state.evaluated_stage
    if where is None or state.stage_entered_at is None:
        return None
    stage = _CONTEXT.compiled(*where)
    return evaluate_stage(
        stage,
        {FLAG: windows},
        minute=minute,
        started=epoch_minute(state.stage_entered_at),
        previous=previous_decisions(last),
    )


@dataclass(frozen=True, slots=True)
class Summary:
    """Many runs' outcomes, as the acceptance reads them."""

    healthy_runs: int
    false_rollbacks: int
    healthy_completed: int
    """Healthy runs that passed every stage."""
    regressed_runs: int
    caught_in_stage: int
    """Regressed runs rolled back in the stage where the regression started."""
    minutes_to_rollback: tuple[int, ...]

    @property
    def false_rate(self) -> float:
        return self.false_rollbacks / max(self.healthy_runs, 1)

    @property
    def false_rate_bound(self) -> float:
        """α plus three standard errors of a rate α over the healthy runs."""
        return ALPHA + 3.0 * float(
            np.sqrt(ALPHA * (1 - ALPHA) / max(self.healthy_runs, 1))
        )

    @property
    def caught_share(self) -> float:
        return self.caught_in_stage / max(self.regressed_runs, 1)


def _alpha() -> float:
    check = _CONTEXT.stages[0].checks[0]
    assert isinstance(check, CompiledRatio)
    return check.guard.alpha


#: The criterion's α at one stage (the compiled guard's: the plan's default).
ALPHA = _alpha()


def summarise(healthy: int, regressed: int, first_seed: int = 1) -> Summary:
    """Run `healthy` healthy and `regressed` regressed runs (the regression
    starting in stage 0, 1, 2 in turn) on consecutive seeds."""
    false = completed = 0
    for k in range(healthy):
        outcome = run_once(first_seed + k)
        false += outcome.rolled_back_at is not None
        completed += outcome.passed == len(_CONTEXT.stages)
    caught, minutes = 0, []
    for k in range(regressed):
        start = k % 3
        got = run_once(first_seed + healthy + k, start)
        if got.rolled_back_at == start:
            caught += 1
        if got.minutes_to_rollback is not None:
            minutes.append(got.minutes_to_rollback)
    return Summary(healthy, false, completed, regressed, caught, tuple(sorted(minutes)))
