"""`RunTotalsCounter` counts the run log incrementally and says what a full
recount (`run_totals`) says: after entries arrive between reads, for a second
counter of its own, and after restores (the log shorter, or rewritten to as
many entries or more, which only the store's epoch tells)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from flagramp.store import Author, SqlFlagStore
from flagramp.store import run_totals_counter as counter_module
from flagramp.store.backups import create_backup, restore_backup
from flagramp.store.run_tables import run_events, runs
from flagramp.store.run_totals import RunTotals, run_totals
from flagramp.store.run_totals_counter import (
    MAX_RUNS_PER_QUERY,
    RunTotalsCounter,
    newest_seqs,
)
from tests.conftest import SQL_BACKENDS, migrated_database

OPS = Author("ops@va.gov", "counter test")
STAMP = "2026-11-23T10:00:00.000000+00:00"


@pytest.fixture(params=SQL_BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SqlFlagStore]:
    with migrated_database(request, tmp_path) as url:
        opened = SqlFlagStore.open(url)
        yield opened
        opened.engine.dispose()


def _stage_left(*guards: tuple[str, str]) -> tuple[str, str]:
    data = {"guards": [{"decision": d, "mode": m} for d, m in guards]}
    return "stage_left", json.dumps(data)


HEALTHY = _stage_left(("healthy", "rollback"), ("inconclusive", "observe"))
HARMFUL = _stage_left(("harmful", "pause"))
PAUSED = ("guard_harmful", '{"action": "pause", "decision": {"mode": "pause"}}')
WOULD = ("would_roll_back", '{"action": "step_back", "decision": {"mode": "observe"}}')
ROLLED_BACK = ("rolled_back", "{}")
KILLED = ("killed", "{}")
NOTE = ("note", '{"guards": [{"decision": "harmful", "mode": "pause"}]}')


def _append(store: SqlFlagStore, run: str, *entries: tuple[str, str]) -> None:
    """Append entries to `run`'s log (the run made if new), as the engine
    numbers them."""
    with store.engine.begin() as conn:
        last = conn.execute(
            sa.select(sa.func.max(run_events.c.seq)).where(run_events.c.run == run)
        ).scalar()
        if last is None:
            conn.execute(sa.insert(runs).values(**_run_row(run)))
        conn.execute(
            sa.insert(run_events),
            [
                {
                    "run": run,
                    "seq": (last or 0) + n,
                    "at": STAMP,
                    "kind": kind,
                    "actor": None,
                    "data": data,
                    "store_version": 1,
                }
                for n, (kind, data) in enumerate(entries, start=1)
            ],
        )


def _run_row(run: str) -> dict[str, object]:
    return {
        "id": run,
        "plan_name": "p",
        "environment": "production",
        "plan_text": "{}",
        "plan_hash": "0" * 64,
        "plan_version": 1,
        "status": "running",
        "state": "{}",
        "observe": False,
        "version": 1,
        "watched_version": 1,
        "created_by": "ops",
        "created_at": STAMP,
        "updated_at": STAMP,
    }


def _same(counted: RunTotals, full: RunTotals) -> None:
    assert counted.by_status == full.by_status
    assert counted.rollbacks == full.rollbacks
    assert +counted.decisions == +full.decisions
    assert +counted.harms == +full.harms


def test_new_entries_between_reads_are_counted_once(store: SqlFlagStore) -> None:
    counter = RunTotalsCounter(store.engine)
    empty = counter.read()
    assert not empty.decisions and empty.rollbacks == {"rolled_back": 0, "killed": 0}
    _append(store, "R1", HEALTHY, NOTE, PAUSED)
    _append(store, "R2", HEALTHY)
    first = counter.read()
    assert first.decisions[("healthy", "rollback")] == 2
    assert first.harms[("pause", "pause", "true")] == 1
    _same(first, run_totals(store.engine))
    # New entries in a run already counted and in a new one; a read with
    # nothing new changes nothing.
    _append(store, "R1", HARMFUL, WOULD, ROLLED_BACK)
    _append(store, "R3", HEALTHY, KILLED)
    second = counter.read()
    assert counter.read() == second
    assert second.decisions[("healthy", "rollback")] == 3
    assert second.decisions[("harmful", "pause")] == 1
    assert second.harms[("observe", "step_back", "false")] == 1
    assert second.rollbacks == {"rolled_back": 1, "killed": 1}
    _same(second, run_totals(store.engine))
    # Another collector (another replica) counting from scratch agrees.
    assert RunTotalsCounter(store.engine).read() == second


def test_many_runs_grown_at_once_are_counted_exactly(store: SqlFlagStore) -> None:
    # Past MAX_RUNS_PER_QUERY the read takes every entry and keeps the new ones.
    counter = RunTotalsCounter(store.engine)
    _append(store, "R0", HEALTHY)
    counter.read()
    with store.engine.begin() as conn:
        conn.execute(
            sa.insert(runs), [_run_row(f"S{n}") for n in range(MAX_RUNS_PER_QUERY + 5)]
        )
    for n in range(MAX_RUNS_PER_QUERY + 5):
        with store.engine.begin() as conn:
            conn.execute(
                sa.insert(run_events).values(
                    run=f"S{n}",
                    seq=1,
                    at=STAMP,
                    kind=HARMFUL[0],
                    data=HARMFUL[1],
                    actor=None,
                    store_version=1,
                )
            )
    _append(store, "R0", HEALTHY)
    totals = counter.read()
    assert totals.decisions[("harmful", "pause")] == MAX_RUNS_PER_QUERY + 5
    assert totals.decisions[("healthy", "rollback")] == 2
    _same(totals, run_totals(store.engine))


def test_a_restore_is_counted_again(store: SqlFlagStore, tmp_path: Path) -> None:
    counter = RunTotalsCounter(store.engine)
    _append(store, "R1", HEALTHY, HEALTHY)
    backup = create_backup(store, label="two", author=OPS, directory=tmp_path).path
    assert backup is not None
    _append(store, "R1", HEALTHY, HEALTHY, ROLLED_BACK)
    _append(store, "R2", HEALTHY)
    assert counter.read().decisions[("healthy", "rollback")] == 5

    # The log shorter: R1 back to two entries, R2 gone.
    restore_backup(store, backup, author=OPS, force=True)
    shorter = counter.read()
    assert shorter.decisions[("healthy", "rollback")] == 2
    assert shorter.rollbacks["rolled_back"] == 0
    _same(shorter, run_totals(store.engine))

    # Rewritten to more entries than were counted: R1's newest seq (6) and
    # R2's (1) are at or past what the counter held, only the epoch tells.
    _append(store, "R1", HEALTHY, HEALTHY, HEALTHY)
    counter.read()
    restore_backup(store, backup, author=OPS, force=True)
    _append(store, "R1", HARMFUL, HARMFUL, HARMFUL, HARMFUL)
    _append(store, "R2", HARMFUL)
    rewritten = counter.read()
    assert rewritten.decisions[("healthy", "rollback")] == 2
    assert rewritten.decisions[("harmful", "pause")] == 5
    _same(rewritten, run_totals(store.engine))


def test_a_restore_during_a_read_is_read_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # On SQLite each statement sees what is committed when it runs, so the
    # restore lands between the read of the runs' newest seqs and their entries.
    store = SqlFlagStore.open(f"sqlite:///{tmp_path / 'race.db'}")
    _append(store, "R1", HEALTHY)
    backup = create_backup(store, label="one", author=OPS, directory=tmp_path).path
    assert backup is not None
    _append(store, "R1", HEALTHY, HEALTHY)
    counter = RunTotalsCounter(store.engine)
    assert counter.read().decisions[("healthy", "rollback")] == 3
    _append(store, "R1", HEALTHY)
    reads: list[dict[str, int]] = []

    def restoring_meanwhile(conn: sa.Connection) -> dict[str, int]:
        heads = newest_seqs(conn)
        if not reads:
            restore_backup(store, backup, author=OPS, force=True)
            _append(store, "R1", HARMFUL, HARMFUL, HARMFUL, HARMFUL)
        reads.append(heads)
        return heads

    monkeypatch.setattr(counter_module, "newest_seqs", restoring_meanwhile)
    totals = counter.read()
    assert len(reads) == 2  # the first read was thrown away
    assert totals.decisions[("healthy", "rollback")] == 1
    assert totals.decisions[("harmful", "pause")] == 4
    _same(totals, run_totals(store.engine))
    store.engine.dispose()
