"""The controller observes, decides with the machine and writes with the runner.

The machine and the evaluator are built elsewhere; these tests give the
controller a small scripted machine (`Script`) and evaluator, so what is
checked is the controller's own part: what it observes, when it writes, and
that failures never half-write or lose a transition.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator, Mapping, Sequence
from functools import partial
from pathlib import Path

import pytest

from flagramp.core.clock import VirtualClock
from flagramp.core.errors import StoreError
from flagramp.core.flags import Percentage
from flagramp.core.flags import operations as ops
from flagramp.engine.compiled import CompiledStage
from flagramp.engine.controller import Controller
from flagramp.engine.evaluation import DataHealth, Observation, StageEvaluation
from flagramp.engine.machine import RunContext
from flagramp.engine.run_state import RunState, RunStatus
from flagramp.engine.runner import FLAG_SET, apply
from flagramp.engine.steps import RunEventDraft, Step
from flagramp.stats.windows import Window
from flagramp.store import Author, SqlFlagStore
from flagramp.store.runs import RunReader
from flagramp.store.windows import WindowStore
from tests.conftest import migrated_database
from tests.engine.run_support import (
    CONTROLLER,
    T0,
    UAE_FLAG,
    FakeState,
    event_kinds,
    move,
    start_run,
    state,
)

PERSON = Author("uae-on-call@va.gov", "saw it on the dashboard")


@pytest.fixture(params=["sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SqlFlagStore]:
    with migrated_database(request, tmp_path) as url:
        sql = SqlFlagStore.open(url)
        try:
            yield sql
        finally:
            sql.engine.dispose()


class Script:
    """A machine: prerequisites → stage 0 at 1 % → notes outside changes."""

    def __init__(self) -> None:
        self.seen: list[Observation] = []
        self.fail_first: int = 0

    def __call__(
        self, ctx: RunContext, st: RunState, now: dt.datetime, obs: Observation
    ) -> Step:
        self.seen.append(obs)
        if self.fail_first:
            self.fail_first -= 1
            raise StoreError("the database went away (injected)")
        if st.status is RunStatus.WAITING_PREREQUISITES:
            return Step(
                state=state(RunStatus.STAGE_RUNNING, 0, now),
                events=(RunEventDraft("stage_entered", None, {"stage": 0}),),
                flag_moves=(move(1),),
            )
        if obs.outside_changes:
            return Step(
                state=state(RunStatus.PAUSED, 0, now),
                events=(
                    RunEventDraft(
                        "outside_change", None, {"flags": list(obs.outside_changes)}
                    ),
                ),
            )
        return Step(st)


class Evaluator:
    """An evaluator that records what it was asked."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, int], int, int]] = []

    def __call__(
        self,
        stage: CompiledStage,
        windows: Mapping[str, Sequence[Window]],
        *,
        minute: int,
        started: int,
        observe: bool = False,
        **_context: object,
    ) -> StageEvaluation:
        self.calls.append(
            (stage.stage, {k: len(v) for k, v in windows.items()}, started, minute)
        )
        return StageEvaluation(minute, (), 0, 0, 0, 0, None, DataHealth())


def _controller(
    store: SqlFlagStore, clock: VirtualClock, script: Script, evaluator: Evaluator
) -> tuple[Controller, list[float]]:
    slept: list[float] = []
    controller = Controller(
        store,
        WindowStore(store.engine),
        clock,
        tick=script,
        load_state=FakeState.load,
        evaluate=evaluator,
        send=None,
        sleep=slept.append,
    )
    return controller, slept


def test_a_tick_writes_the_machines_step_and_the_next_changes_nothing(
    store: SqlFlagStore,
) -> None:
    start_run(store)
    clock = VirtualClock(T0 + dt.timedelta(minutes=1))
    script, evaluator = Script(), Evaluator()
    controller, _ = _controller(store, clock, script, evaluator)
    first = controller.tick()
    assert first.runs == 1
    assert first.applied["R1"].flags_changed == (UAE_FLAG,)
    assert first.steps == {"R1": 1}
    assert store.require_flag(UAE_FLAG).percentage_of_actors == Percentage.parse(1)
    clock.advance(dt.timedelta(minutes=10))
    second = controller.tick()
    assert second.applied == {}
    # the controller's own flag change is not an outside change
    assert script.seen[-1].outside_changes == ()
    assert event_kinds(store) == ["run_started", "stage_entered", FLAG_SET]
    # the running stage was evaluated from the stage's start to now's minute
    # (the first tick evaluated it too, at once after entering it)
    assert len(evaluator.calls) == 2
    name, windows, started, minute = evaluator.calls[-1]
    assert name == "Canary 1%"
    assert windows == {UAE_FLAG: 0}
    assert started == int((T0 + dt.timedelta(minutes=1)).timestamp() // 60)
    assert minute == started + 10


def test_a_change_made_outside_the_run_is_observed_once(store: SqlFlagStore) -> None:
    start_run(store)
    clock = VirtualClock(T0)
    script, evaluator = Script(), Evaluator()
    controller, _ = _controller(store, clock, script, evaluator)
    controller.tick()
    store.change_flag(
        UAE_FLAG,
        partial(ops.set_percentage_of_actors, pct=Percentage.parse(50)),
        PERSON,
    )
    seen_before = len(script.seen)
    report = controller.tick()
    # decided twice (paused, then settled): the change is told once
    assert [o.outside_changes for o in script.seen[seen_before:]] == [(UAE_FLAG,), ()]
    assert "R1" in report.applied
    assert RunReader(store.engine).load("R1").status == RunStatus.PAUSED.value
    # the pause never overwrote the outside change
    assert store.require_flag(UAE_FLAG).percentage_of_actors == Percentage.parse(50)
    controller.tick()  # paused runs are still ticked; the change is not new
    later = script.seen[-1]
    assert later.outside_changes == ()


def test_a_change_commanded_by_a_person_through_the_run_is_not_outside(
    store: SqlFlagStore,
) -> None:
    ctx = start_run(store)
    clock = VirtualClock(T0)
    script, evaluator = Script(), Evaluator()
    controller, _ = _controller(store, clock, script, evaluator)
    controller.tick()
    kill = Step(
        state=state(RunStatus.ROLLED_BACK, 0),
        events=(RunEventDraft("killed", PERSON.who, {}),),
        flag_moves=(move(0, reason="killed"),),
    )
    apply(store, ctx, 2, kill, T0, PERSON)
    controller.tick()
    assert script.seen[-1].outside_changes == ()


def test_a_failing_store_is_retried_and_the_transition_written_once(
    store: SqlFlagStore,
) -> None:
    start_run(store)
    script, evaluator = Script(), Evaluator()
    script.fail_first = 2
    controller, slept = _controller(store, VirtualClock(T0), script, evaluator)
    report = controller.tick()
    assert "R1" in report.applied
    assert slept == [0.5, 1.0]  # backoff between attempts
    assert event_kinds(store) == ["run_started", "stage_entered", FLAG_SET]


def test_a_store_that_stays_down_fails_the_run_and_writes_nothing(
    store: SqlFlagStore,
) -> None:
    start_run(store)
    script, evaluator = Script(), Evaluator()
    script.fail_first = 99
    controller, _ = _controller(store, VirtualClock(T0), script, evaluator)
    report = controller.tick()
    assert "injected" in report.failed["R1"]
    assert event_kinds(store) == ["run_started"]


def test_a_person_moving_the_run_meanwhile_is_a_conflict_not_an_overwrite(
    store: SqlFlagStore,
) -> None:
    ctx = start_run(store)
    script, evaluator = Script(), Evaluator()
    inner = Script()

    decided_on: list[RunStatus] = []

    def racing(c: RunContext, st: RunState, now: dt.datetime, obs: Observation) -> Step:
        decided_on.append(st.status)
        step = inner(c, st, now, obs)
        if len(decided_on) == 1:
            # a person moves the run on while the controller decides
            paused = dataclasses.replace(
                step, events=(RunEventDraft("paused", "x", {}), *step.events)
            )
            apply(
                store, ctx, 1, dataclasses.replace(paused, flag_moves=()), now, PERSON
            )
        return step

    controller, _ = _controller(store, VirtualClock(T0), script, evaluator)
    controller._tick = racing
    report = controller.tick()
    assert report.conflicts == ["R1"]
    assert event_kinds(store) == ["run_started", "paused", "stage_entered"]
    assert store.get_flag(UAE_FLAG) is None  # the controller's move never happened
    # It decided again at once, from what the person wrote (not a tick later).
    assert decided_on == [RunStatus.WAITING_PREREQUISITES, RunStatus.STAGE_RUNNING]


def test_a_run_that_people_keep_moving_is_left_after_three_conflicts(
    store: SqlFlagStore,
) -> None:
    ctx = start_run(store)
    script, evaluator = Script(), Evaluator()
    decisions = 0

    def overtaken(
        c: RunContext, st: RunState, now: dt.datetime, obs: Observation
    ) -> Step:
        nonlocal decisions
        decisions += 1
        note = Step(st, events=(RunEventDraft("noted", "x", {}),))
        apply(store, ctx, decisions, note, now, PERSON)
        return Step(st, events=(RunEventDraft("never_written", None, {}),))

    controller, _ = _controller(store, VirtualClock(T0), script, evaluator)
    controller._tick = overtaken
    report = controller.tick()
    assert report.conflicts == ["R1"] * 3 and decisions == 3
    assert event_kinds(store) == ["run_started", "noted", "noted", "noted"]


def test_final_runs_are_not_ticked(store: SqlFlagStore) -> None:
    ctx = start_run(store)
    done = Step(
        state=state(RunStatus.COMPLETED, None),
        events=(RunEventDraft("completed", None, {}),),
    )
    apply(store, ctx, 1, done, T0, CONTROLLER)
    script, evaluator = Script(), Evaluator()
    controller, _ = _controller(store, VirtualClock(T0), script, evaluator)
    assert controller.tick().runs == 0
    assert script.seen == []
