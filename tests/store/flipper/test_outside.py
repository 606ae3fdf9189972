"""Changes made outside flagramp (a Rails console, the Flipper UI, SQL) are
noticed, recorded with before and after, and never overwritten.

Outside writers here write rows as Ruby's adapter does (or worse: by hand, with
second-precision timestamps, reusing ids, updating values in place).
"""

from __future__ import annotations

import json
import random
import time

import pytest
import sqlalchemy as sa

from flagramp.core.flags import Flag, Percentage
from flagramp.store import Author, FlipperTablesStore
from flagramp.store.flipper import OUTSIDE_ACTION
from flagramp.store.flipper.fingerprint import feature_marks, fingerprint
from tests.store.flipper.conftest import FlipperSetup
from tests.store.flipper.tables import execute

ALICE = Author("alice@va.gov", "set up")
STAMP = "2026-12-01 10:00:00"


def key_column(setup: FlipperSetup) -> str:
    return "`key`" if setup.flipper_url.startswith("mysql") else '"key"'


def insert_gate(setup: FlipperSetup, feature: str, key: str, value: str) -> str:
    return (
        f"INSERT INTO flipper_gates (feature_key, {key_column(setup)}, value, "
        f"created_at, updated_at) VALUES ('{feature}', '{key}', '{value}', "
        f"'{STAMP}', '{STAMP}')"
    )


def insert_feature(setup: FlipperSetup, feature: str) -> str:
    return (
        f"INSERT INTO flipper_features ({key_column(setup)}, created_at, updated_at) "
        f"VALUES ('{feature}', '{STAMP}', '{STAMP}')"
    )


@pytest.fixture
def opened(flipper_setup: FlipperSetup) -> FlipperTablesStore:
    flipper_setup.tables("text")
    execute(
        flipper_setup.flipper_url,
        insert_feature(flipper_setup, "search"),
        insert_gate(flipper_setup, "search", "actors", "User;1"),
        insert_gate(flipper_setup, "search", "actors", "User;2"),
        insert_gate(flipper_setup, "search", "percentage_of_actors", "5"),
    )
    return flipper_setup.open()


def test_opening_adopts_what_the_tables_hold(opened: FlipperTablesStore) -> None:
    flag = opened.require_flag("search")
    assert flag.actors == ("User;1", "User;2")
    assert flag.percentage_of_actors == Percentage.parse("5")
    [change] = opened.changes_since(0)
    assert (change.action, change.who, change.before) == (
        "adopt",
        "flipper-tables",
        None,
    )
    assert change.why.startswith("adopted from Flipper's tables at ")


@pytest.mark.parametrize(
    ("statements", "expected"),
    [
        (
            lambda s: [insert_gate(s, "search", "actors", "User;3")],
            {"actors": ["User;1", "User;2", "User;3"]},
        ),
        (
            lambda s: [
                "DELETE FROM flipper_gates WHERE value = 'User;1'",
                insert_gate(s, "search", "actors", "User;9"),
            ],
            {"actors": ["User;2", "User;9"]},
        ),
        (
            # By hand: same id, same count, same updated_at; only the value moves.
            lambda s: ["UPDATE flipper_gates SET value = '50' WHERE value = '5'"],
            {"percentage_of_actors": "50"},
        ),
    ],
    ids=["actor added", "delete and insert in one second", "value updated in place"],
)
def test_an_outside_change_is_recorded_with_before_and_after(
    flipper_setup: FlipperSetup,
    opened: FlipperTablesStore,
    statements: object,
    expected: dict[str, object],
) -> None:
    assert callable(statements)
    v0 = opened.version()
    execute(flipper_setup.flipper_url, *statements(flipper_setup))
    assert opened.sync().recorded == ["search"]
    [change] = opened.changes_since(v0)
    assert (change.kind, change.key, change.action) == (
        "flag",
        "search",
        OUTSIDE_ACTION,
    )
    assert change.who == "flipper-tables"
    assert change.why.startswith("changed outside flagramp, in Flipper's tables at ")
    assert isinstance(change.before, dict) and isinstance(change.after, dict)
    before, after = change.before["gates"], change.after["gates"]
    assert isinstance(before, dict) and isinstance(after, dict)
    assert before["actors"] == ["User;1", "User;2"]
    for gate, value in expected.items():
        assert after[gate] == value
    assert opened.sync().recorded == []


def test_features_created_and_removed_outside(
    flipper_setup: FlipperSetup, opened: FlipperTablesStore
) -> None:
    opened.create_flag(Flag("mine", boolean=True), ALICE)
    v0 = opened.version()
    execute(
        flipper_setup.flipper_url,
        insert_feature(flipper_setup, "theirs"),
        insert_gate(flipper_setup, "theirs", "boolean", "true"),
        "DELETE FROM flipper_gates WHERE feature_key = 'mine'",
        "DELETE FROM flipper_features WHERE " + key_column(flipper_setup) + " = 'mine'",
    )
    assert opened.sync().recorded == ["mine", "theirs"]
    changes = {c.key: c for c in opened.changes_since(v0)}
    assert changes["mine"].after is None and changes["mine"].before is not None
    assert changes["theirs"].before is None
    assert opened.get_flag("mine") is None
    assert opened.require_flag("theirs").boolean


def test_gate_rows_without_a_feature_row_are_not_a_feature(
    flipper_setup: FlipperSetup, opened: FlipperTablesStore
) -> None:
    execute(
        flipper_setup.flipper_url,
        insert_gate(flipper_setup, "ghost", "boolean", "true"),
    )
    assert opened.sync().recorded == []
    assert opened.get_flag("ghost") is None


def test_the_fingerprint_alone_catches_a_delete_and_an_insert_in_one_second(
    flipper_setup: FlipperSetup, opened: FlipperTablesStore
) -> None:
    # Same count, same max(id) (the id is reused), same max(updated_at): only
    # the hash of the rows' content differs.
    engine = opened.flipper.engine
    schema = opened.flipper.schema
    with engine.connect() as conn:
        before = fingerprint(conn, schema)
        marks = feature_marks(conn, schema)
        newest = conn.execute(sa.text("SELECT MAX(id) FROM flipper_gates")).scalar()
    execute(
        flipper_setup.flipper_url,
        f"DELETE FROM flipper_gates WHERE id = {newest}",
        f"INSERT INTO flipper_gates (id, feature_key, {key_column(flipper_setup)}, "
        f"value, created_at, updated_at) VALUES ({newest}, 'search', "
        f"'percentage_of_actors', '6', '{STAMP}', '{STAMP}')",
    )
    with engine.connect() as conn:
        after = fingerprint(conn, schema)
        assert feature_marks(conn, schema)["search"] != marks["search"]
    assert after.gates[:3] == before.gates[:3]  # count, max(id), max(updated_at)
    assert after != before
    assert opened.sync().recorded == ["search"]
    assert opened.require_flag("search").percentage_of_actors == Percentage.parse("6")


def test_a_quiet_round_is_one_aggregate_and_a_change_reads_one_feature(
    flipper_setup: FlipperSetup, opened: FlipperTablesStore
) -> None:
    for i in range(20):
        opened.create_flag(Flag(f"f{i}", boolean=True), ALICE)
    opened.sync()
    statements: list[tuple[str, object]] = []

    def seen(_c: object, _cur: object, sql: str, params: object, *_: object) -> None:
        statements.append((sql, params))

    sa.event.listen(opened.flipper.engine, "before_cursor_execute", seen)
    try:
        assert opened.sync().recorded == []
        assert len(statements) == 1  # one statement the database computes
        assert all("SUM(" in sql for sql, _ in statements)
        statements.clear()
        execute(
            flipper_setup.flipper_url, insert_gate(flipper_setup, "f7", "actors", "x")
        )
        assert opened.sync().recorded == ["f7"]
    finally:
        sa.event.remove(opened.flipper.engine, "before_cursor_execute", seen)
    reads = [
        (sql, p) for sql, p in statements if "SUM(" not in sql and "GROUP BY" not in sql
    ]
    reads = [
        (sql, p)
        for sql, p in reads
        if "flipper_features.id" in sql or "flipper_gates.id" in sql
    ]
    assert reads, statements
    assert all("f7" in json.dumps(p, default=str) for _, p in reads)
    assert not any("f8" in json.dumps(p, default=str) for _, p in reads)


def test_outside_changes_are_seen_within_five_seconds_with_500_features(
    flipper_setup: FlipperSetup,
) -> None:
    flipper_setup.tables("text")
    rows = [insert_feature(flipper_setup, f"feature_{i:03}") for i in range(500)]
    rows += [
        insert_gate(flipper_setup, f"feature_{i:03}", "percentage_of_actors", "5")
        for i in range(500)
    ]
    execute(flipper_setup.flipper_url, *rows)
    store = flipper_setup.open()
    assert len(store.list_flags()) == 500
    rng = random.Random(23)
    store.start(interval=1.0)
    waits = []
    try:
        for n in range(3):
            time.sleep(rng.uniform(0.0, 1.0))
            version = store.version()
            key = f"feature_{rng.randrange(500):03}"
            execute(
                flipper_setup.flipper_url,
                f"UPDATE flipper_gates SET value = '{10 + n}' "
                f"WHERE feature_key = '{key}'",
            )
            changed = time.monotonic()
            while not [c for c in store.changes_since(version) if c.key == key]:
                assert time.monotonic() - changed < 5, f"{key} not seen in 5 s"
                time.sleep(0.02)
            waits.append(time.monotonic() - changed)
    finally:
        store.stop()
    assert max(waits) < 5
