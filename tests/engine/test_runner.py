"""The runner writes one machine step as one unit of work, or nothing."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from flagramp.core.errors import FlagNotFound, StoreError
from flagramp.core.flags import Percentage
from flagramp.engine import runner
from flagramp.engine.notifications.webhooks import WebhookFormat, add_webhook
from flagramp.engine.notify import NoticeKind
from flagramp.engine.run_state import RunStatus
from flagramp.engine.runner import FLAG_SET, RunConflict, apply
from flagramp.engine.steps import (
    FlagMove,
    IncidentDraft,
    NoticeDraft,
    RunEventDraft,
    Step,
)
from flagramp.store import SqlFlagStore
from flagramp.store.notification_tables import notification_outbox
from flagramp.store.run_tables import run_events
from flagramp.store.runs import RunReader
from flagramp.store.tables import audit_log
from tests.conftest import SQL_BACKENDS, migrated_database
from tests.engine.run_support import (
    CONTROLLER,
    T0,
    UAE_FLAG,
    UAE_SEGMENT,
    context,
    event_kinds,
    flag_audit_actions,
    move,
    stage_step,
    start_run,
    state,
)

T1 = T0 + dt.timedelta(minutes=5)


def _open(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SqlFlagStore]:
    with migrated_database(request, tmp_path) as url:
        sql = SqlFlagStore.open(url)
        try:
            yield sql
        finally:
            sql.engine.dispose()


@pytest.fixture(params=SQL_BACKENDS)
def every_store(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[SqlFlagStore]:
    """Transactions differ by backend: these tests run on each."""
    yield from _open(request, tmp_path)


@pytest.fixture(params=["sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SqlFlagStore]:
    """What the runner writes is the same SQL everywhere: SQLite is enough."""
    yield from _open(request, tmp_path)


def _everything(store: SqlFlagStore) -> dict[str, object]:
    """What a transition could have written, to compare before and after."""
    with store.engine.connect() as conn:
        counts = {
            table.name: conn.execute(
                sa.select(sa.func.count()).select_from(table)
            ).scalar_one()
            for table in (run_events, audit_log, notification_outbox)
        }
    return {
        **counts,
        "run": RunReader(store.engine).load("R1"),
        "flag": store.get_flag(UAE_FLAG),
        "version": store.version(),
    }


def test_entering_a_stage_creates_the_declared_flag_and_sets_its_percentage(
    every_store: SqlFlagStore,
) -> None:
    store = every_store
    ctx = start_run(store)
    applied = apply(store, ctx, 1, stage_step(1), T1, CONTROLLER)
    flag = store.require_flag(UAE_FLAG)
    assert flag.percentage_of_actors == Percentage.parse(1)
    assert flag.eligibility == UAE_SEGMENT
    assert flag.actors == ()
    assert UAE_SEGMENT in store.segments()
    assert applied.version == 2
    assert applied.flags_changed == (UAE_FLAG,)
    assert event_kinds(store) == ["run_started", "stage_entered", FLAG_SET]
    assert applied.seqs == (2, 3)
    # create, then the stage's move: one audit row for the move itself
    assert flag_audit_actions(store) == ["create", "stage_entered"]
    row = RunReader(store.engine).load("R1")
    assert row.version == 2
    assert row.status == RunStatus.STAGE_RUNNING.value
    assert row.state["stage"] == 0
    assert row.updated_at == T1.isoformat(timespec="microseconds")
    [logged] = [e for e in RunReader(store.engine).events("R1") if e.kind == FLAG_SET]
    assert logged.data["flag"] == UAE_FLAG
    assert logged.data["before"] is not None
    assert logged.store_version == applied.store_version


def test_a_stale_version_is_a_conflict_and_writes_nothing(
    every_store: SqlFlagStore,
) -> None:
    store = every_store
    ctx = start_run(store)
    apply(store, ctx, 1, stage_step(1), T1, CONTROLLER)
    before = _everything(store)
    with pytest.raises(RunConflict) as raised:
        apply(store, ctx, 1, stage_step(5, stage=1), T1, CONTROLLER)
    assert raised.value.code == "run_conflict"
    assert (raised.value.expected, raised.value.found) == (1, 2)
    assert _everything(store) == before


def test_a_failing_flag_move_rolls_back_the_whole_transition(
    every_store: SqlFlagStore,
) -> None:
    store = every_store
    ctx = start_run(store)
    before = _everything(store)
    step = Step(
        state=state(stage=0),
        events=(RunEventDraft("stage_entered", None, {}),),
        # the first move succeeds inside the unit; the second names a flag the
        # plan does not declare and the store does not have
        flag_moves=(move(1), move(1, flag="not_in_the_store", eligible=None)),
    )
    with pytest.raises(FlagNotFound):
        apply(store, ctx, 1, step, T1, CONTROLLER)
    assert _everything(store) == before


def test_a_failure_after_every_write_but_the_outbox_leaves_nothing(
    store: SqlFlagStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    ctx = start_run(store)
    before = _everything(store)

    def broken(*_args: object, **_kwargs: object) -> None:
        raise StoreError("the outbox is full (injected)")

    monkeypatch.setattr(runner, "enqueue", broken)
    step = stage_step(
        1, notices=(NoticeDraft(NoticeKind.NEEDS_PERSON, "stage 1", "go?"),)
    )
    with pytest.raises(StoreError, match="injected"):
        apply(store, ctx, 1, step, T1, CONTROLLER)
    assert _everything(store) == before


def test_notices_are_keyed_on_the_first_event_and_reach_the_plans_roles(
    store: SqlFlagStore,
) -> None:
    with store.unit_of_work(CONTROLLER) as unit:
        add_webhook(
            unit,
            "production",
            "http://127.0.0.1:9/hook",
            format=WebhookFormat.JSON,
            secret="s3cret-of-sixteen-chars",
            at=T0,
        )
    ctx = start_run(store)
    notices = (
        NoticeDraft(NoticeKind.NEEDS_PERSON, "go/no-go", "launch?", ("eng_lead",)),
        NoticeDraft(NoticeKind.PAUSED, "paused", "why", ("not_a_role",)),
    )
    applied = apply(store, ctx, 1, stage_step(1, notices=notices), T1, CONTROLLER)
    with store.engine.connect() as conn:
        rows = list(
            conn.execute(
                sa.select(notification_outbox).order_by(notification_outbox.c.id)
            ).mappings()
        )
    assert [r["notice_key"] for r in rows] == [
        f"R1:{applied.seqs[0]}",
        f"R1:{applied.seqs[0]}.1",
    ]
    assert [r["run"] for r in rows] == ["R1", "R1"]
    assert '"role":"eng_lead"' in rows[0]["notice"]
    assert "uae-eng-lead@va.gov" in rows[0]["notice"]
    assert "not_a_role" not in rows[1]["notice"]


def test_incidents_are_upserted_with_the_transition(store: SqlFlagStore) -> None:
    ctx = start_run(store)
    opened = IncidentDraft("I1", {"severity": "critical", "root_cause": None})
    apply(store, ctx, 1, stage_step(1, incidents=(opened,)), T1, CONTROLLER)
    closed = IncidentDraft("I1", {"severity": "critical", "root_cause": "a bug"})
    step = Step(
        state=state(),
        events=(RunEventDraft("re_enabled", "po@va.gov", {}),),
        incidents=(closed,),
    )
    apply(store, ctx, 2, step, T1, CONTROLLER)
    [incident] = RunReader(store.engine).incidents("R1")
    assert incident.record == {"severity": "critical", "root_cause": "a bug"}


def test_every_flag_change_has_one_audit_row_and_one_run_event(
    store: SqlFlagStore,
) -> None:
    ctx = start_run(store)
    version = 1
    for pct, reason in [(1, "stage_entered"), (5, "stage_entered"), (5, "resumed"),
                        (0, "rolled_back"), (1, "re_enabled")]:  # fmt: skip
        step = Step(
            state=state(note=reason),
            events=(RunEventDraft(reason, None, {}),),
            flag_moves=(move(pct, reason=reason),),
        )
        version = apply(store, ctx, version, step, T1, CONTROLLER).version
    changes = [a for a in flag_audit_actions(store) if a != "create"]
    logged = [e for e in RunReader(store.engine).events("R1") if e.kind == FLAG_SET]
    # the move to 5 % again changed nothing: neither an audit row nor an event
    assert changes == ["stage_entered", "stage_entered", "rolled_back", "re_enabled"]
    assert [e.data["reason"] for e in logged] == changes
    off = store.require_flag(UAE_FLAG)
    assert store.require_flag(UAE_FLAG).state == "conditional"
    assert off.percentage_of_actors == Percentage.parse(1)


def test_zero_percent_with_no_allow_list_is_off_for_everyone(
    store: SqlFlagStore,
) -> None:
    ctx = start_run(store)
    apply(store, ctx, 1, stage_step(25), T1, CONTROLLER)
    step = Step(
        state=state(RunStatus.ROLLED_BACK),
        events=(RunEventDraft("rolled_back", None, {}),),
        flag_moves=(move(0, reason="rolled_back"),),
    )
    apply(store, ctx, 2, step, T1, CONTROLLER)
    assert store.require_flag(UAE_FLAG).state == "off"


def test_a_run_can_not_be_moved_that_does_not_exist(store: SqlFlagStore) -> None:
    with pytest.raises(StoreError, match="no run 'R9'"):
        apply(store, context("R9"), 0, stage_step(1), T1, CONTROLLER)


def test_a_move_sets_the_key_actors_are_bucketed_on(store: SqlFlagStore) -> None:
    ctx = start_run(store)
    shared = FlagMove(UAE_FLAG, 5, "first_flag", UAE_SEGMENT, (), "stage_entered")
    step = Step(
        state=state(), events=(RunEventDraft("stage_entered", None, {}),),
        flag_moves=(shared,),
    )  # fmt: skip
    apply(store, ctx, 1, step, T1, CONTROLLER)
    assert store.require_flag(UAE_FLAG).bucket_key == "first_flag"
    apply(store, ctx, 2, stage_step(5), T1, CONTROLLER)  # None: its own key
    assert store.require_flag(UAE_FLAG).bucket_key is None
