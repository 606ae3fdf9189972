"""A metric source that hangs or answers garbage: the stage's clock stops and
the run says which source failed, since when."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from flagramp.core.clock import VirtualClock
from flagramp.engine.compiled import CompiledStage
from flagramp.engine.controller import Controller
from flagramp.engine.evaluate import DEFAULT_GRACE_MINUTES
from flagramp.engine.evaluation import StageEvaluation
from flagramp.engine.health import data_health
from flagramp.engine.run_state import RunState, RunStatus
from flagramp.engine.service import RunService
from flagramp.engine.source_health import SourceHealth
from flagramp.sources.base import ExternalQuery
from flagramp.sources.prometheus import PrometheusSource
from flagramp.store import SqlFlagStore
from flagramp.store.windows import WindowStore
from tests.engine.run_support import PO, T0, event_kinds, healthy, launch, plan_text
from tests.faults.prometheus_stub import PrometheusStub

#: The UAE plan's API error rate, read from Prometheus instead of Datadog.
METRIC = "api_error_rate"
DATADOG = "      kind: datadog\n      query: sum:vaos.api.errors"
PROMETHEUS = "      kind: prometheus\n      query: sum:vaos.api.errors"


def _evaluate(
    stage: CompiledStage,
    windows: Any,
    *,
    minute: int,
    started: int,
    source_failures: dict[str, int] | None = None,
    **context: Any,
) -> StageEvaluation:
    """Every check healthy; the data health from the source failures alone
    (`engine.health`'s own rules and words)."""
    evaluation = healthy(stage, windows, minute=minute, started=started, **context)
    health = data_health(
        {},
        minute=minute,
        started=minute,  # no gap in the windows: only the sources count
        grace_minutes=DEFAULT_GRACE_MINUTES,
        srm=(None, False),
        metrics=(),
        source_failures=source_failures or {},
    )
    return dataclasses.replace(evaluation, health=health)


@pytest.fixture
def stub() -> Iterator[PrometheusStub]:
    with PrometheusStub().running() as running:
        yield running


def _state(service: RunService) -> RunState:
    return RunState.from_json(service.show("R1").row.state)


@pytest.mark.parametrize("failure", ["hang", "garbage"])
def test_a_failing_source_stops_the_stages_clock_and_the_run_says_why(
    stub: PrometheusStub, tmp_path: Path, failure: str
) -> None:
    clock = VirtualClock(T0)
    store = SqlFlagStore.open(f"sqlite:///{tmp_path / 'flagramp.db'}", clock)
    windows = WindowStore(store.engine)
    service = RunService(store, windows, clock)
    text = plan_text()
    assert DATADOG in text
    service.start(text.replace(DATADOG, PROMETHEUS), person=PO, file="uae.yaml")
    query = ExternalQuery(numerator="sum by (variant) (errors)", denominator="x")
    prometheus = PrometheusSource(stub.url, {METRIC: query}, timeout=30)
    sources = SourceHealth({"prometheus": prometheus}, deadline=0.3)
    controller = Controller(
        store, windows, clock, evaluate=_evaluate, send=None, sources=sources
    )

    def tick() -> RunState:
        clock.current += dt.timedelta(minutes=1)
        controller.tick()
        state = _state(service)
        if state.status is RunStatus.AWAITING_GO_NO_GO:
            launch(service, state)
            state = _state(service)
        return state

    state = _state(service)
    for _ in range(30):
        state = tick()
        if state.status is RunStatus.STAGE_RUNNING and state.clock.running_since:
            break
    assert state.status is RunStatus.STAGE_RUNNING, state.status
    assert state.clock.running_since is not None
    asked = stub.requests
    assert asked > 0  # the source is read while the stage runs

    stub.mode = failure
    counting_from = state.clock.running_since
    counted_before = state.clock.counted
    failed_at = clock.now() + dt.timedelta(minutes=1)
    try:
        for _ in range(DEFAULT_GRACE_MINUTES):
            state = tick()
            # within the grace the failure is not yet a gap
            assert state.clock.running_since == counting_from
        state = tick()
        # Past the grace: the clock stopped at the minute the source first
        # failed (what ran since is not counted) and, the gap being as long
        # as the machine waits, the run paused saying which source.
        assert state.clock.running_since is None
        reason = f"source prometheus unavailable since {failed_at:%H:%M}"
        assert state.clock.gap_reason == reason
        assert state.clock.gap_since == failed_at
        assert state.clock.counted == counted_before + (
            (failed_at - counting_from).total_seconds()
        )
        assert state.status is RunStatus.PAUSED
        assert state.paused_reason is not None
        assert reason in state.paused_reason
        assert event_kinds(store)[-2:] == ["data_gap", "paused"]
    finally:
        sources.close()
        store.engine.dispose()
