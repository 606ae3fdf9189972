"""A run whose criterion reads Prometheus: the controller reads the stage's
error rate per variant over the stage's span from a loopback Prometheus and
judges it with the real evaluator. Healthy values pass the stage, a treatment
error rate above the limit rolls back, a server that is down is a data gap,
and a plan naming a source the controller was not configured with says so. A
relative-to-baseline criterion reads its baseline from the same Prometheus,
over the 7 days before the run."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from flagramp.core.clock import VirtualClock
from flagramp.engine.controller import Controller
from flagramp.engine.evaluate import DEFAULT_GRACE_MINUTES
from flagramp.engine.observe import evaluated_scope
from flagramp.engine.run_state import RunState, RunStatus
from flagramp.engine.service import RunService
from flagramp.engine.source_health import SourceHealth
from flagramp.sources.prometheus import PrometheusSource
from flagramp.stats import GuardOutcome
from flagramp.stats.buckets import BucketSums
from flagramp.stats.sketches import DistinctActors
from flagramp.stats.windows import Lane, Window, WindowKey
from flagramp.store import SqlFlagStore
from flagramp.store.windows import WindowStore
from tests.engine.run_support import T0, launch
from tests.faults.prometheus_stub import PrometheusStub

FLAG = "checkout_v2"
ERRORS = 'sum by (variant) (increase(http_requests_total{status=~"5.."}[1m]))'
REQUESTS = "sum by (variant) (increase(http_requests_total[1m]))"
PLAN = f"""\
name: sourced
title: A criterion read from Prometheus
owner: eng
product_owner: eng
environment: production
roles:
  eng: {{people: [eng@example.org], signs: [go_no_go, re-enable]}}
flags:
  {FLAG}: {{create: true}}
metrics:
  api_error_rate:
    kind: ratio
    source:
      kind: prometheus
      query: '{ERRORS}'
      denominator_query: '{REQUESTS}'
x-criteria: &criteria
  - name: errors_vs_control
    kind: relative_to_control
    metric: api_error_rate
    max_increase: 0.25
    mde: 0.75
    severity: critical
    mode: rollback
phases:
  - name: rollout
    flags: [{FLAG}]
    stages:
      - {{name: half, percentage: 50, hold: 10m, criteria: *criteria}}
      - {{name: all, percentage: 100, hold: 10m}}
rollback:
  severities:
    critical: {{action: disable_all}}
  re-enable: {{approved_by: [eng]}}
"""
BASELINE_PLAN = PLAN.replace(
    """  - name: errors_vs_control
    kind: relative_to_control""",
    """  - name: errors_vs_baseline
    kind: relative_to_baseline
    baseline: {window: 7d, before: run}""",
)
assert BASELINE_PLAN != PLAN
#: Requests per variant and minute, and control's error rate.
REQUESTS_PER_MINUTE = 50_000.0
BASE_RATE = 0.01


class Rig:
    """A store, a run of PLAN and a controller reading `sources`."""

    def __init__(self, tmp_path: Path, sources: SourceHealth, plan: str = PLAN) -> None:
        self.clock = VirtualClock(T0)
        self.store = SqlFlagStore.open(f"sqlite:///{tmp_path / 'f.db'}", self.clock)
        self.windows = WindowStore(self.store.engine)
        self.service = RunService(self.store, self.windows, self.clock)
        self.service.start(plan, person="eng@example.org", file="sourced.yaml")
        self.sources = sources
        self.controller = Controller(
            self.store, self.windows, self.clock, send=None, sources=sources
        )
        self._batches = 0

    def state(self) -> RunState:
        return RunState.from_json(self.service.show("R1").row.state)

    def expose(self, state: RunState) -> None:
        """The minute's exposures in the evaluated attempt's scope: the same
        users on and off (the windows hold no metric: Prometheus has it)."""
        context = self.service.plans.context(self.service.show("R1").row)
        scope = evaluated_scope(context, state)
        if scope is None:
            return
        minute = int(self.clock.now().timestamp() // 60) - 1
        users = np.full(256, 4.0)
        self._batches += 1
        batch = [
            Window(
                WindowKey(scope, FLAG, lane, minute, minute + 1),
                BucketSums(users, users.copy()),
                DistinctActors.of(range(base, base + 1024)),
                {},
                {},
                {},
            )
            for lane, base in ((Lane.ON, self._batches * 10_000), (Lane.OFF, 7))
        ]
        self.windows.add_batch(scope, f"b{self._batches}", batch)

    def tick(self) -> RunState:
        self.clock.current += dt.timedelta(minutes=1)
        self.expose(self.state())
        self.controller.tick()
        state = self.state()
        if state.status is RunStatus.AWAITING_GO_NO_GO:
            launch(self.service, state)
            state = self.state()
        return state

    def until_running(self) -> RunState:
        for _ in range(10):
            state = self.tick()
            if state.status is RunStatus.STAGE_RUNNING and state.clock.running_since:
                return state
        raise AssertionError(f"the stage did not start: {state.status}")

    def close(self) -> None:
        self.sources.close()
        self.store.engine.dispose()


@pytest.fixture
def stub() -> Iterator[PrometheusStub]:
    with PrometheusStub().running() as running:
        running.mode = "counts"
        yield running


def _rates(stub: PrometheusStub, treatment: float, control: float = BASE_RATE) -> None:
    n = REQUESTS_PER_MINUTE
    stub.counts = {
        ERRORS: {"on": treatment * n, "off": control * n},
        REQUESTS: {"on": n, "off": n},
    }


@pytest.fixture
def rig(tmp_path: Path, stub: PrometheusStub) -> Iterator[Rig]:
    source = PrometheusSource(stub.url, timeout=5)
    made = Rig(tmp_path, SourceHealth({"prometheus": source}, deadline=2))
    try:
        yield made
    finally:
        made.close()


def test_healthy_prometheus_values_pass_the_stage(
    rig: Rig, stub: PrometheusStub
) -> None:
    _rates(stub, treatment=BASE_RATE)
    state = rig.until_running()
    outcomes = []
    for _ in range(20):
        if state.looks is not None and state.looks.criteria:
            outcomes.append(dict(state.looks.criteria)["errors_vs_control"].outcome)
        state = rig.tick()
        if state.stage != 0:
            break
    assert state.stage == 1, (state.status, state.clock)
    # Judged on Prometheus's numbers: healthy, not "no data".
    assert outcomes and outcomes[-1] is GuardOutcome.HEALTHY
    # Read with the plan's own queries, over the stage's span.
    assert ERRORS in stub.queries and REQUESTS in stub.queries


def test_a_treatment_error_rate_above_the_limit_rolls_back(
    rig: Rig, stub: PrometheusStub
) -> None:
    _rates(stub, treatment=3 * BASE_RATE)
    for _ in range(10):
        state = rig.tick()
        if state.rollback is not None:
            break
    assert state.status is RunStatus.ROLLED_BACK, state.status
    assert state.rollback is not None
    assert state.rollback.phase == 0
    assert state.looks is not None
    look = dict(state.looks.criteria)["errors_vs_control"]
    assert look.outcome is GuardOutcome.HARMFUL
    # The difference of the rates Prometheus gave (3 % - 1 %) is inside it.
    assert look.lower < 2 * BASE_RATE < look.upper


def test_a_prometheus_that_is_down_stops_the_stages_clock(
    rig: Rig, stub: PrometheusStub
) -> None:
    _rates(stub, treatment=BASE_RATE)
    state = rig.until_running()
    stub.stop()
    failed_at = rig.clock.now() + dt.timedelta(minutes=1)
    for _ in range(DEFAULT_GRACE_MINUTES + 1):
        state = rig.tick()
    assert state.clock.running_since is None
    assert state.clock.gap_reason == (
        f"source prometheus unavailable since {failed_at:%H:%M}"
    )
    assert state.stage == 0 and state.rollback is None


def test_a_source_that_is_not_configured_is_a_data_gap_that_says_so(
    tmp_path: Path,
) -> None:
    rig = Rig(tmp_path, SourceHealth({}))
    try:
        state = rig.tick()
        for _ in range(DEFAULT_GRACE_MINUTES + 3):
            state = rig.tick()
            if state.clock.gap_reason:
                break
        assert state.clock.running_since is None
        assert state.clock.gap_reason is not None
        reason = (
            "source prometheus not configured (set FLAGRAMP_PROMETHEUS_URL), "
            "no data since"
        )
        assert state.clock.gap_reason.startswith(reason)
        # The gap as long as the machine waits: the run pauses, saying so.
        assert state.status is RunStatus.PAUSED
        assert state.paused_reason is not None and reason in state.paused_reason
    finally:
        rig.close()


@pytest.fixture
def baseline_rig(tmp_path: Path, stub: PrometheusStub) -> Iterator[Rig]:
    # Before the run every variant's error rate was 1 %.
    n = REQUESTS_PER_MINUTE
    stub.history = {ERRORS: {"off": BASE_RATE * n}, REQUESTS: {"off": n}}
    stub.history_until = T0.timestamp()
    source = PrometheusSource(stub.url, timeout=5)
    health = SourceHealth({"prometheus": source}, deadline=2)
    made = Rig(tmp_path, health, BASELINE_PLAN)
    try:
        yield made
    finally:
        made.close()


def _baseline_reads(stub: PrometheusStub) -> list[tuple[float, float, float]]:
    """The ranges asked that start before the run (the baseline's pieces)."""
    return [r for r in stub.ranges if r[0] < T0.timestamp()]


def test_a_stage_at_the_baselines_error_rate_passes(
    baseline_rig: Rig, stub: PrometheusStub
) -> None:
    _rates(stub, treatment=BASE_RATE)
    state = baseline_rig.until_running()
    outcomes = []
    for _ in range(20):
        if state.looks is not None and state.looks.criteria:
            look = dict(state.looks.criteria)["errors_vs_baseline"]
            outcomes.append(look.outcome)
        state = baseline_rig.tick()
        if state.stage != 0:
            break
    assert state.stage == 1, (state.status, state.clock)
    assert outcomes and outcomes[-1] is GuardOutcome.HEALTHY
    assert look.reference == pytest.approx(BASE_RATE, rel=1e-3)
    # Read once, at one-minute steps, in pieces under Prometheus's limit:
    # 7 days are 10,080 minutes, two pieces of each query.
    pieces = _baseline_reads(stub)
    assert len(pieces) == 4
    assert {step for *_, step in pieces} == {60.0}
    assert all((end - start) / 60 <= 10_000 for start, end, _ in pieces)
    assert min(start for start, *_ in pieces) <= (T0 - dt.timedelta(days=7)).timestamp()


def test_a_stage_above_the_baselines_error_rate_rolls_back(
    baseline_rig: Rig, stub: PrometheusStub
) -> None:
    # Control is as bad as treatment now: only the baseline shows the harm.
    _rates(stub, treatment=3 * BASE_RATE, control=3 * BASE_RATE)
    for _ in range(10):
        state = baseline_rig.tick()
        if state.rollback is not None:
            break
    assert state.status is RunStatus.ROLLED_BACK, state.status
    assert state.looks is not None
    look = dict(state.looks.criteria)["errors_vs_baseline"]
    assert look.outcome is GuardOutcome.HARMFUL
    assert look.reference == pytest.approx(BASE_RATE, rel=1e-3)
    assert look.lower < 2 * BASE_RATE < look.upper


def test_a_baseline_that_cannot_be_read_is_a_data_gap_that_says_so(
    baseline_rig: Rig, stub: PrometheusStub
) -> None:
    # The stage's own span answers; the week before the run is refused.
    _rates(stub, treatment=BASE_RATE)
    stub.refuse_before = T0.timestamp()
    state = baseline_rig.tick()
    for _ in range(DEFAULT_GRACE_MINUTES + 3):
        state = baseline_rig.tick()
        if state.clock.gap_reason:
            break
    assert state.clock.running_since is None
    assert state.clock.gap_reason is not None
    assert state.clock.gap_reason.startswith(
        "source prometheus failed reading the baseline of api_error_rate"
        " (api_error_rate: prometheus refused the query (HTTP 503)"
    ), state.clock.gap_reason
    assert state.stage == 0 and state.rollback is None
    assert state.looks is not None
    look = dict(state.looks.criteria)["errors_vs_baseline"]
    assert look.outcome is GuardOutcome.INCONCLUSIVE
