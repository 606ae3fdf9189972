"""The run service and the controller with the real machine, on SQLite: the UAE
example walked to its manual phase, a kill and a re-enable, all through the
store (state JSON, events, flags, audit, incidents)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest

from flagramp.core.clock import VirtualClock
from flagramp.core.flags import Percentage
from flagramp.engine.commands import (
    CommandRefused,
    Kill,
    ReEnable,
)
from flagramp.engine.controller import Controller
from flagramp.engine.run_state import RunState, RunStatus
from flagramp.engine.runner import FLAG_SET
from flagramp.engine.service import RunService
from flagramp.store import SqlFlagStore
from flagramp.store.windows import WindowStore
from tests.conftest import migrated_database
from tests.engine.run_support import (
    ON_CALL,
    PO,
    T0,
    UAE_FLAG,
    UAE_SEGMENT,
    flag_audit_actions,
    healthy,
    launch,
    plan_text,
)


@pytest.fixture(params=["sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SqlFlagStore]:
    with migrated_database(request, tmp_path) as url:
        sql = SqlFlagStore.open(url, clock=VirtualClock(T0))
        try:
            yield sql
        finally:
            sql.engine.dispose()


def _parts(store: SqlFlagStore) -> tuple[VirtualClock, RunService, Controller]:
    clock = store.clock
    assert isinstance(clock, VirtualClock)
    windows = WindowStore(store.engine)
    controller = Controller(store, windows, clock, evaluate=healthy, send=None)
    return clock, RunService(store, windows, clock), controller


def _state(service: RunService, run: str = "R1") -> RunState:
    return RunState.from_json(service.show(run).row.state)


def test_the_uae_plan_runs_through_the_store_to_its_manual_phase(
    store: SqlFlagStore,
) -> None:
    clock, service, controller = _parts(store)
    row = service.start(plan_text(), person=PO, file="uae.yaml")
    assert row.id == "R1"
    for _ in range(24 * 40):
        clock.advance(dt.timedelta(hours=1))
        controller.tick()
        state = _state(service)
        if state.status is RunStatus.AWAITING_GO_NO_GO:
            launch(service, state)
        if state.phase == 1:
            break
    assert _state(service).status is RunStatus.MANUAL_PHASE
    flag = store.require_flag(UAE_FLAG)
    assert flag.percentage_of_actors == Percentage.parse(100)
    assert flag.eligibility == UAE_SEGMENT
    log = service.log("R1")
    assert [e.seq for e in log] == list(range(1, len(log) + 1))  # no gaps
    entered = [e.data["percentage"] for e in log if e.kind == "stage_entered"]
    assert entered == [1.0, 5.0, 20.0, 100.0]
    # every flag change: one audit row and one run event
    moves = [e for e in log if e.kind == FLAG_SET]
    assert [a for a in flag_audit_actions(store) if a != "create"] == [
        e.data["reason"] for e in moves
    ]
    assert len(moves) == 4


def test_a_kill_turns_the_flag_off_and_only_the_product_owner_re_enables(
    store: SqlFlagStore,
) -> None:
    clock, service, controller = _parts(store)
    service.start(plan_text(), person=PO, file="uae.yaml")
    clock.advance(dt.timedelta(hours=1))
    controller.tick()
    assert store.require_flag(UAE_FLAG).state == "conditional"
    service.command("R1", Kill(ON_CALL, "errors on the dashboard"))
    assert store.require_flag(UAE_FLAG).state == "off"
    assert _state(service).status is RunStatus.ROLLED_BACK
    [incident] = service.incidents("R1")
    version = store.version()
    with pytest.raises(CommandRefused):
        service.command("R1", ReEnable(ON_CALL, "fixed"))
    assert store.version() == version  # refused: nothing written
    clock.advance(dt.timedelta(minutes=5))
    controller.tick()  # the rollback's verification: no treatment traffic
    service.command("R1", ReEnable(PO, "a null check in the Oracle client"))
    assert store.require_flag(UAE_FLAG).state == "conditional"
    record = service.incidents("R1")[0].record
    assert record != incident.record
    assert "null check" in str(record)
    assert service.show("R1").waiting_for
