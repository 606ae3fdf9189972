"""What only the SQL backend has: other tables joining a unit of work, migrations
under concurrent first use, and change-feed reads through an index."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from flagramp.core.errors import StoreError
from flagramp.core.flags import Flag, Percentage
from flagramp.core.flags import operations as ops
from flagramp.store import Author, SqlFlagStore
from flagramp.store.audit import legacy_hash
from flagramp.store.database import (
    MIGRATIONS,
    current_revision,
    head_revision,
    open_engine,
)
from flagramp.store.documents import canonical, flag_document
from flagramp.store.window_tables import metric_windows

ALICE = Author("alice@va.gov", "stage 2")

#: A table of a later layer (a run's event log), created by the test.
run_events = sa.Table(
    "test_run_events",
    sa.MetaData(),
    sa.Column("run", sa.String(64), primary_key=True),
    sa.Column("seq", sa.Integer, primary_key=True),
    sa.Column("event", sa.String(64), nullable=False),
)


@pytest.fixture
def store(database_url: str) -> Iterator[SqlFlagStore]:
    store = SqlFlagStore.open(database_url)
    run_events.create(store.engine)
    store.create_flag(Flag("vaos"), ALICE)
    yield store
    store.engine.dispose()


def _events(store: SqlFlagStore) -> list[tuple[str, int, str]]:
    with store.engine.connect() as conn:
        rows = conn.execute(sa.select(run_events).order_by(run_events.c.seq))
        return [tuple(r) for r in rows]


def test_migrations_run_on_first_use(database_url: str) -> None:
    engine = open_engine(database_url)
    assert current_revision(engine) == head_revision()
    open_engine(database_url).dispose()  # a second open finds nothing to do
    assert current_revision(engine) == head_revision()
    assert {"flags", "audit_log", "metric_windows"} <= set(
        sa.inspect(engine).get_table_names()
    )
    engine.dispose()


def test_a_flag_change_a_table_row_and_the_audit_row_commit_together(
    store: SqlFlagStore,
) -> None:
    v0 = store.version()
    with store.unit_of_work(ALICE) as unit:
        unit.change_flag(
            "vaos", lambda f: ops.set_percentage_of_actors(f, Percentage.parse("25"))
        )
        unit.execute(run_events.insert().values(run="r1", seq=1, event="stage_2"))
        unit.record("production", "run", "r1", "advance", {"stage": 1}, {"stage": 2})
        seen = unit.connection.execute(
            sa.select(sa.func.count()).select_from(run_events)
        ).scalar()
        assert seen == 1
    assert _events(store) == [("r1", 1, "stage_2")]
    assert [c.version for c in store.changes_since(v0)] == [v0 + 1, v0 + 1]
    assert store.verify_audit().ok


def test_a_failure_in_the_last_step_leaves_none_of_them(store: SqlFlagStore) -> None:
    store.change_flag("vaos", ops.enable, ALICE)
    with store.unit_of_work(ALICE) as unit:
        unit.execute(run_events.insert().values(run="r1", seq=1, event="start"))
    v0, rows = store.version(), len(store.audit_entries())
    with (
        pytest.raises(StoreError, match="nothing was written"),
        store.unit_of_work(ALICE) as unit,
    ):
        unit.change_flag("vaos", ops.disable, action="disable")
        unit.record("production", "run", "r1", "rollback", None, {"stage": 0})
        # The last step fails in the database: a duplicate event number.
        unit.execute(run_events.insert().values(run="r1", seq=1, event="rollback"))
    assert store.require_flag("vaos").state == "on"
    assert _events(store) == [("r1", 1, "start")]
    assert (store.version(), len(store.audit_entries())) == (v0, rows)


def test_a_unit_with_only_its_own_table_rows_still_takes_a_version(
    store: SqlFlagStore,
) -> None:
    v0 = store.version()
    with store.unit_of_work(ALICE) as unit:
        unit.execute(run_events.insert().values(run="r1", seq=1, event="tick"))
        assert unit.version() == v0 + 1
    assert store.version() == v0 + 1
    assert store.changes_since(v0) == []


SIX_AT_ONCE = """
import sys, time
from flagramp.core.flags import Flag
from flagramp.store import Author, SqlFlagStore
url, start, n = sys.argv[1], float(sys.argv[2]), sys.argv[3]
time.sleep(max(0.0, start - time.time()))
store = SqlFlagStore.open(url)
store.create_flag(Flag("f" + n), Author("proc" + n))
print(len(store.list_flags()))
"""


def test_six_commands_at_once_on_an_empty_database_all_succeed(
    database_url: str, tmp_path: Path
) -> None:
    # Every process imports flagramp first, then all open the store together.
    start = time.time() + 3.0
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", SIX_AT_ONCE, database_url, str(start), str(n)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=tmp_path,
        )
        for n in range(6)
    ]
    results = [p.communicate(timeout=120) for p in procs]
    assert [
        (p.returncode, err.strip()[-300:])
        for p, (_, err) in zip(procs, results, strict=True)
    ] == [(0, "")] * 6
    store = SqlFlagStore.open(database_url)
    assert sorted(f.key for f in store.list_flags()) == [f"f{n}" for n in range(6)]
    assert store.verify_audit().ok
    store.engine.dispose()


def test_the_change_feed_reads_an_index_range(tmp_path: Path) -> None:
    store = SqlFlagStore.open(f"sqlite:///{tmp_path / 'feed.db'}")
    with store.engine.connect() as conn:
        for sql, index in [
            (
                "SELECT * FROM audit_log WHERE store_version > 5 "
                "ORDER BY store_version, id",
                "ix_audit_log_version",
            ),
            (
                "SELECT * FROM audit_log WHERE environment = 'production' "
                "AND store_version > 5 ORDER BY store_version, id",
                "ix_audit_log_environment_version",
            ),
        ]:
            plan = " ".join(
                str(r[-1]) for r in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}")
            )
            assert f"SEARCH audit_log USING INDEX {index}" in plan, plan
            assert "TEMP B-TREE" not in plan, plan
    store.engine.dispose()


def test_legacy_rows_from_before_keying_still_verify_and_say_so(tmp_path: Path) -> None:
    # A store written by flagramp before migration 0003: unkeyed SHA-256 rows
    # with the entity as one `environment/flag/key` string.
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = open_engine(url, migrate=False)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0002_metric_windows")
    state = canonical(flag_document(Flag("a/flag/b")))
    content = {
        "at": "2026-11-01T10:00:00.000000+00:00",
        "actor": "alice@va.gov",
        "reason": "",
        "environment": "production",
        "entity_kind": "flag",
        "entity_key": "a/flag/b",
        "action": "create",
        "before": None,
        "after": state,
        "store_version": 1,
    }
    digest = legacy_hash("0" * 64, content)
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO audit_log (at, actor, reason, environment, entity, "
                "action, before, after, store_version, prev_hash, hash) VALUES "
                "(:at, :actor, :reason, :environment, :entity, :action, :before, "
                ":after, :store_version, :prev, :hash)"
            ),
            {
                **content,
                "entity": "production/flag/a/flag/b",
                "prev": "0" * 64,
                "hash": digest,
            },
        )
        conn.execute(
            sa.text(
                "INSERT INTO flags (environment, key, state, version, created_at, "
                "updated_at) VALUES ('production', 'a/flag/b', :s, 1, 'x', 'x')"
            ),
            {"s": state},
        )
        conn.execute(
            sa.text("UPDATE store_meta SET int_value = 1 WHERE key = 'version'")
        )
        conn.execute(
            sa.text(
                "UPDATE store_meta SET int_value = 1, text_value = :h "
                "WHERE key = 'audit_head'"
            ),
            {"h": digest},
        )
    engine.dispose()
    store = SqlFlagStore.open(url)
    [entry] = store.history("a/flag/b")
    assert (entry.entity_kind, entry.entity_key, entry.key_id) == (
        "flag",
        "a/flag/b",
        None,
    )
    store.change_flag("a/flag/b", ops.enable, ALICE)
    report = store.verify_audit()
    assert report.ok, report.problems
    assert report.limits == (
        "1 row(s) (row 1) were written before the chain was keyed: someone who can "
        "write the database could have rewritten them and recomputed their hashes",
    )
    store.engine.dispose()


def test_a_window_row_larger_than_64_kb_round_trips(database_url: str) -> None:
    # MySQL's BLOB holds 64 KB; migration 0003 makes metric_windows.data LONGBLOB.
    engine = open_engine(database_url)
    data = bytes(range(256)) * 1_024  # 256 KiB
    row = {"run": "r", "flag": "f", "lane": "on", "start_minute": 0, "end_minute": 1}
    with engine.begin() as conn:
        conn.execute(metric_windows.insert().values(**row, data=data))
    with engine.connect() as conn:
        assert conn.execute(sa.select(metric_windows.c.data)).scalar_one() == data
    engine.dispose()


def test_a_bad_url_is_one_clear_error() -> None:
    with pytest.raises(StoreError, match="not a database URL: 'not a url'"):
        open_engine("not a url", migrate=False)


def test_an_unreachable_database_says_it_cannot_connect() -> None:
    # Nothing listens on port 9 of the loopback interface.
    url = "postgresql+psycopg://postgres@127.0.0.1:9/test?connect_timeout=2"
    with pytest.raises(StoreError, match=r"^cannot connect to postgresql\+psycopg://"):
        open_engine(url)
