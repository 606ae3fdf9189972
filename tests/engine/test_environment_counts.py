"""Contact-center calls (events without an actor, seeds 000/001) are held to a
stage's count limit: calls below the limit let the stage run on, calls that
reach it pause the run (the criterion's mode)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest

from flagramp.core.clock import VirtualClock
from flagramp.engine.controller import Controller
from flagramp.engine.run_state import RunState, RunStatus
from flagramp.engine.scopes import current_scope
from flagramp.engine.service import EnvironmentCountRefused, RunService
from flagramp.sim import Scenario
from flagramp.stats import GuardOutcome
from flagramp.store import SqlFlagStore
from flagramp.store.windows import WindowStore
from tests.engine.acceptance_kit import _windows

START = dt.datetime(2026, 1, 5, 10, 0, tzinfo=dt.UTC)
PLAN = """\
name: calls
title: Contact-center calls
owner: eng
product_owner: eng
environment: production
roles:
  eng: {people: [eng@example.org], signs: [go_no_go, re-enable]}
flags:
  calls_flag: {create: true}
events:
  request: {kind: request}
  contact_center_call: {kind: business, actor: false}
metrics:
  error_rate: {kind: ratio, numerator: request_failed, denominator: request}
  contact_center_calls: {kind: count, event: contact_center_call}
phases:
  - name: rollout
    flags: [calls_flag]
    stages:
      - name: quarter
        percentage: 25
        hold: 2h
        criteria:
          - {name: errors, kind: absolute, metric: error_rate, below: 20, mde: 5,
             severity: critical, mode: observe}
          - {name: calls, kind: count, metric: contact_center_calls, below: 3,
             scale: fixed, severity: high, mode: pause}
rollback:
  severities:
    critical: {action: disable_all}
    high: {action: step_back}
  re-enable: {approved_by: [eng]}
"""


@pytest.fixture
def world(tmp_path: Path) -> Iterator[tuple[RunService, Controller, VirtualClock]]:
    clock = VirtualClock(START)
    store = SqlFlagStore.open(f"sqlite:///{tmp_path}/calls.db", clock=clock)
    windows = WindowStore(store.engine)
    service = RunService(store, windows, clock)
    service.start(PLAN, person="eng@example.org")
    yield service, Controller(store, windows, clock, send=None), clock
    store.engine.dispose()


def _ticks(
    service: RunService, controller: Controller, clock: VirtualClock, calls: list[int]
) -> RunState:
    """Ten-minute ticks of traffic, with `calls[k]` calls in the k-th."""
    epoch = int(START.timestamp() // 60)
    scenario = Scenario(600.0, 0.25, 0.01)
    for k, n in enumerate(calls):
        state = RunState.from_json(service.show("R1").row.state)
        scope = current_scope("R1", state)
        traffic = [
            dataclasses.replace(
                w, key=dataclasses.replace(w.key, run=scope, flag="calls_flag")
            )
            for w in _windows(5, scenario, 10 * k, 10 * k + 10, epoch)
        ]
        controller.windows.add_batch(scope, f"traffic-{k}", traffic)
        at = START + dt.timedelta(minutes=10 * k)
        service.push_environment_counts(
            "R1",
            {"contact_center_calls": n},
            start=at,
            end=at + dt.timedelta(minutes=10),
            batch_key=f"calls-{k}",
        )
        clock.advance(dt.timedelta(minutes=10))
        controller.tick()
    return RunState.from_json(service.show("R1").row.state)


def _calls_outcome(service: RunService) -> GuardOutcome:
    row = service.show("R1").row
    state = RunState.from_json(row.state)
    assert state.looks is not None
    return dict(state.looks.criteria)["calls"].outcome


def test_calls_below_the_limit_let_the_stage_run(
    world: tuple[RunService, Controller, VirtualClock],
) -> None:
    service, controller, clock = world
    state = _ticks(service, controller, clock, [1, 0, 1, 0])
    assert state.status is RunStatus.STAGE_RUNNING
    assert _calls_outcome(service) is GuardOutcome.HEALTHY


def test_calls_reaching_the_limit_pause_the_run(
    world: tuple[RunService, Controller, VirtualClock],
) -> None:
    service, controller, clock = world
    state = _ticks(service, controller, clock, [1, 0, 2, 0])
    assert state.status is RunStatus.PAUSED
    assert state.paused_reason == "criterion calls is harmful"
    assert _calls_outcome(service) is GuardOutcome.HARMFUL


def test_a_count_of_a_metric_with_actors_is_refused(
    world: tuple[RunService, Controller, VirtualClock],
) -> None:
    service, _, _ = world
    with pytest.raises(EnvironmentCountRefused, match="error_rate"):
        service.push_environment_counts(
            "R1",
            {"error_rate": 3},
            start=START,
            end=START + dt.timedelta(minutes=1),
            batch_key="x",
        )
