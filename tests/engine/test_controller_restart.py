"""A controller restarted between two ticks decides as one that was never
stopped: what the next tick needs of the last one's decisions (`engine.looks`)
is in the run's state, not in the controller's memory."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from flagramp.core.clock import VirtualClock
from flagramp.core.severity import Severity
from flagramp.engine.commands import RaiseIncident
from flagramp.engine.compiled import CompiledStage
from flagramp.engine.controller import Controller
from flagramp.engine.evaluate import evaluate_stage
from flagramp.engine.evaluation import StageEvaluation
from flagramp.engine.looks import Look, StageLooks
from flagramp.engine.run_state import RunState
from flagramp.engine.scopes import current_scope
from flagramp.engine.service import RunService
from flagramp.sim import Regression, RegressionKind, Scenario
from flagramp.stats import GuardOutcome
from flagramp.store import SqlFlagStore
from flagramp.store.runs import RunReader
from flagramp.store.windows import WindowStore
from tests.engine.acceptance_kit import _windows

START = dt.datetime(2026, 1, 5, 10, 0, tzinfo=dt.UTC)
TICK = 5
TICKS = 10
PLAN = """\
name: restart
title: Restart test
owner: eng
product_owner: eng
environment: production
roles:
  eng: {people: [eng@example.org], signs: [go_no_go, re-enable]}
flags:
  restart_flag: {create: true}
events:
  request: {kind: request}
metrics:
  error_rate: {kind: ratio, numerator: request_failed, denominator: request}
phases:
  - name: rollout
    flags: [restart_flag]
    stages:
      - name: quarter
        percentage: 25
        hold: 2h
        criteria:
          - {name: vs_control, kind: relative_to_control, metric: error_rate,
             max_increase: 0.25, mde: 0.75, severity: high, mode: observe}
          - {name: absolute, kind: absolute, metric: error_rate, below: 20, mde: 5,
             severity: critical, mode: rollback}
rollback:
  severities:
    critical: {action: disable_all}
    high: {action: step_back}
  re-enable: {approved_by: [eng]}
"""


@dataclasses.dataclass
class World:
    store: SqlFlagStore
    windows: WindowStore
    clock: VirtualClock
    scope: str
    seen: list[str] = dataclasses.field(default_factory=list)

    def evaluate(self, stage: CompiledStage, *args: Any, **kw: Any) -> StageEvaluation:
        found = evaluate_stage(stage, *args, **kw)
        self.seen.append(repr(found))
        return found

    def controller(self) -> Controller:
        return Controller(
            self.store, self.windows, self.clock, evaluate=self.evaluate, send=None
        )

    def traffic(self, minute: int) -> None:
        """The next TICK minutes; the treatment's error rate doubled throughout."""
        scenario = Scenario(
            2000.0, 0.25, 0.01, regressions=(Regression(RegressionKind.RATE, 0.01),)
        )
        epoch = int(START.timestamp() // 60)
        fresh = [
            dataclasses.replace(
                w, key=dataclasses.replace(w.key, run=self.scope, flag="restart_flag")
            )
            for w in _windows(7, scenario, minute, minute + TICK, epoch)
        ]
        self.windows.add_batch(self.scope, f"m{minute}", fresh)
        self.clock.advance(dt.timedelta(minutes=TICK))


@pytest.fixture
def worlds(tmp_path: Path) -> Iterator[tuple[World, World]]:
    made = []
    for name in ("kept", "restarted"):
        clock = VirtualClock(START)
        store = SqlFlagStore.open(f"sqlite:///{tmp_path}/{name}.db", clock=clock)
        windows = WindowStore(store.engine)
        row = RunService(store, windows, clock).start(PLAN, person="eng@example.org")
        made.append(
            World(
                store,
                windows,
                clock,
                current_scope(row.id, RunState.from_json(row.state)),
            )
        )
    yield made[0], made[1]
    for world in made:
        world.store.engine.dispose()


def test_a_restarted_controller_decides_as_an_uninterrupted_one(
    worlds: tuple[World, World],
) -> None:
    kept, restarted = worlds
    controller = kept.controller()
    for k in range(TICKS):
        for world in worlds:
            world.traffic(k * TICK)
        controller.tick()
        restarted.controller().tick()  # a new process at every tick
    assert restarted.seen == kept.seen
    reader, other = RunReader(kept.store.engine), RunReader(restarted.store.engine)
    assert reader.load("R1").state == other.load("R1").state
    assert [(e.kind, e.data) for e in reader.events("R1")] == [
        (e.kind, e.data) for e in other.events("R1")
    ]
    # The observed harm was carried from look to look in both.
    state = RunState.from_json(reader.load("R1").state)
    assert state.looks is not None
    outcomes = dict(state.looks.criteria)
    assert outcomes["vs_control"].outcome is GuardOutcome.HARMFUL
    assert "harm was established at an earlier look" in restarted.seen[-1]


def test_looks_read_back_equal_with_infinite_bounds() -> None:
    looks = StageLooks(
        "R1/p0/s0/m1",
        (
            ("a", Look("a", GuardOutcome.HARMFUL, Severity.HIGH, 0.012, math.inf)),
            ("b", Look("b", GuardOutcome.INCONCLUSIVE, Severity.LOW, -math.inf, 0.3)),
        ),
    )
    text = json.dumps(looks.to_json(), allow_nan=False)
    assert StageLooks.from_json(json.loads(text)) == looks
    assert looks.previous("another attempt") == {}
    previous = looks.previous("R1/p0/s0/m1")["a"]
    assert previous.is_harmful and previous.evidence.lower == 0.012


@dataclasses.dataclass
class Interrupted:
    """A controller on `world` whose evaluations are each followed by a
    person's command (a low incident) for as many as `actions` says."""

    world: World
    actions: int = 0

    def __post_init__(self) -> None:
        self.service = RunService(
            self.world.store, self.world.windows, self.world.clock
        )
        self.controller = Controller(
            self.world.store,
            self.world.windows,
            self.world.clock,
            evaluate=self.evaluate,
            send=None,
        )

    def evaluate(self, stage: CompiledStage, *args: Any, **kw: Any) -> StageEvaluation:
        found = self.world.evaluate(stage, *args, **kw)
        if self.actions:
            # Between this decision and the save of its looks.
            self.actions -= 1
            self.service.command(
                "R1", RaiseIncident("eng@example.org", Severity.LOW, "seen on a call")
            )
        return found


def test_looks_of_a_run_a_person_moved_during_the_tick_are_kept(
    worlds: tuple[World, World],
) -> None:
    world, _ = worlds
    reader = RunReader(world.store.engine)
    interrupted = Interrupted(world)
    for k in range(4):
        world.traffic(k * TICK)
        interrupted.controller.tick()
    before = RunState.from_json(reader.load("R1").state).looks
    world.traffic(4 * TICK)
    interrupted.actions = 1
    report = interrupted.controller.tick()
    assert interrupted.actions == 0  # the person acted in this tick
    state = RunState.from_json(reader.load("R1").state)
    assert state.looks is not None and before is not None
    # This tick's looks, not the last tick's that the command's state held.
    assert state.looks.minute == int(world.clock.now().timestamp() // 60)
    assert state.looks.minute != before.minute
    assert "incident_raised" in [e.kind for e in reader.events("R1")]
    assert report.conflicts == ["R1"]  # decided again from what the person wrote


def test_a_person_acting_at_every_decision_leaves_nothing_for_the_next_tick(
    worlds: tuple[World, World], caplog: pytest.LogCaptureFixture
) -> None:
    world, _ = worlds
    interrupted = Interrupted(world)
    world.traffic(0)
    interrupted.controller.tick()
    world.traffic(TICK)
    interrupted.actions = 99
    report = interrupted.controller.tick()
    # Decided again twice after the first save; the third save is the tick's
    # end whatever it found: no looks wait for the next tick's save.
    assert report.conflicts == ["R1", "R1", "R1"]
    assert interrupted.controller._observed == {}
    assert "moved by commands 3 times" in caplog.text
