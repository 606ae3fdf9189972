"""Runs in the store: rows, gap-free event logs, incidents, plan versions."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest

from flagramp.core.errors import StoreError
from flagramp.store import Author, SqlFlagStore
from flagramp.store.runs import (
    EventDraft,
    RunNotFound,
    RunReader,
    RunVersionMoved,
    add_plan_version,
    adopt_plan_version,
    append_events,
    create_run,
    move_run,
    next_run_id,
    put_incident,
)
from flagramp.store.schema import flagramp_tables
from tests.conftest import SQL_BACKENDS, migrated_database

T0 = dt.datetime(2026, 11, 23, 10, 0, tzinfo=dt.UTC)
WHO = Author("flagramp-controller", "a store test")
TEXT = "naïve café — 日本語 😀"


@pytest.fixture(params=SQL_BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SqlFlagStore]:
    with migrated_database(request, tmp_path) as url:
        sql = SqlFlagStore.open(url)
        try:
            yield sql
        finally:
            sql.engine.dispose()


def _create(store: SqlFlagStore, run: str | None = None, status: str = "s") -> str:
    with store.unit_of_work(WHO) as unit:
        chosen = run or next_run_id(unit.connection)
        create_run(
            unit,
            run=chosen,
            plan_name="vaos",
            environment="production",
            plan_text=f"name: vaos\n# {TEXT}\n",
            plan_hash="a" * 64,
            status=status,
            state={"status": status, "note": TEXT, "n": [1, 2.5, None]},
            observe=True,
            at=T0,
            created_by="alice@va.gov",
        )
    return chosen


def test_a_run_round_trips_and_is_numbered_r1_r2_onwards(
    store: SqlFlagStore,
) -> None:
    for _ in range(10):
        _create(store)
    assert _create(store) == "R11"  # numbers, not text: R10 < R11, R9 < R10
    reader = RunReader(store.engine)
    row = reader.load("R1")
    assert row.state == {"status": "s", "note": TEXT, "n": [1, 2.5, None]}
    assert (row.version, row.plan_version, row.observe) == (0, 1, True)
    assert row.plan_text.endswith(f"{TEXT}\n")
    assert row.created_at == "2026-11-23T10:00:00.000000+00:00"
    [version] = reader.plan_versions("R1")
    assert (version.version, version.adopted_by) == (1, "alice@va.gov")
    with pytest.raises(RunNotFound):
        reader.load("R99")
    with pytest.raises(StoreError, match="exists already"):
        _create(store, "R1")


def test_moving_a_run_checks_its_version_and_logs_without_gaps(
    store: SqlFlagStore,
) -> None:
    run = _create(store)
    with store.unit_of_work(WHO) as unit:
        assert (
            move_run(unit, run, expected_version=0, status="b", state={"x": 1}, at=T0)
            == 1
        )
        assert append_events(
            unit, run, T0, [EventDraft("a", None, {}), EventDraft("b", "bo", {})]
        ) == [1, 2]
    with store.unit_of_work(WHO) as unit:
        assert append_events(unit, run, T0, [EventDraft("c", None, {"k": TEXT})]) == [3]
    with pytest.raises(RunVersionMoved) as moved, store.unit_of_work(WHO) as unit:
        move_run(unit, run, expected_version=0, status="z", state={}, at=T0)
    assert moved.value.found == 1
    reader = RunReader(store.engine)
    assert reader.load(run).status == "b"
    assert [e.seq for e in reader.events(run)] == [1, 2, 3]
    assert [e.kind for e in reader.events(run, since=1)] == ["b", "c"]
    assert reader.events(run)[2].data == {"k": TEXT}


def test_runs_are_listed_by_status_and_keep_incidents_and_versions(
    store: SqlFlagStore,
) -> None:
    _create(store, status="stage_running")
    _create(store, status="completed")
    reader = RunReader(store.engine)
    assert [r.id for r in reader.runs()] == ["R1", "R2"]
    assert [r.id for r in reader.runs(statuses=["completed"])] == ["R2"]
    with store.unit_of_work(WHO) as unit:
        for name in ("I10", "I2", "I1"):
            put_incident(unit, "R1", name, {"severity": "high"}, T0)
        put_incident(unit, "R1", "I2", {"severity": "low"}, T0)
        assert add_plan_version(
            unit, "R1", text="v2", plan_hash="b" * 64, diff="- x\n+ y",
            adopted_by="po@va.gov", at=T0,
        ) == 2  # fmt: skip
    found = reader.incidents("R1")
    assert [i.incident for i in found] == ["I1", "I2", "I10"]
    assert found[1].record == {"severity": "low"}
    assert reader.load("R1").plan_version == 1  # recorded, not adopted yet
    with store.unit_of_work(WHO) as unit:
        adopt_plan_version(unit, "R1", 2)
    assert (reader.load("R1").plan_text, reader.load("R1").plan_version) == ("v2", 2)
    assert [v.diff for v in reader.plan_versions("R1")] == ["", "- x\n+ y"]


def test_backups_cover_the_run_tables() -> None:
    names = {table.name for table in flagramp_tables()}
    assert {"runs", "run_events", "run_plan_versions", "run_incidents"} <= names
