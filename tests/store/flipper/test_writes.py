"""flagramp's writes land in Flipper's tables row for row as Ruby Flipper writes.

The expected rows are those Ruby Flipper 0.25.4's ActiveRecord adapter leaves
for the same calls (`tests/compat/test_active_record_vs_ruby.py` checks them
against the real adapter): one row per actor and group, percentages as their
Ruby text, `'0'` on a disabled percentage, enabling the boolean gate clears
every other row, disabling it clears all, remove deletes the feature row.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
import sqlalchemy as sa

from flagramp.core.flags import Flag, Percentage, Segment
from flagramp.core.flags import operations as ops
from flagramp.store import Author, FlipperTablesStore
from tests.store.flipper.conftest import FlipperSetup
from tests.store.flipper.tables import feature_keys, gate_rows

ALICE = Author("alice@va.gov", "Stage A")
Change = Callable[[Flag], Flag]


def pct(text: str) -> Percentage:
    return Percentage.parse(text)


#: (name, changes applied to feature "f" after it is created, its gate rows)
CASES: list[tuple[str, list[Change], list[tuple[str, str]]]] = [
    ("add", [], []),
    ("boolean", [ops.enable], [("boolean", "true")]),
    (
        "actors",
        [lambda f: ops.add_actor(f, "User;1"), lambda f: ops.add_actor(f, "User;2")],
        [("actors", "User;1"), ("actors", "User;2")],
    ),
    (
        "actor removed",
        [
            lambda f: ops.add_actor(f, "User;1"),
            lambda f: ops.add_actor(f, "User;2"),
            lambda f: ops.remove_actor(f, "User;1"),
        ],
        [("actors", "User;2")],
    ),
    ("empty actor id", [lambda f: ops.add_actor(f, "")], [("actors", "")]),
    ("group", [lambda f: ops.add_group(f, "admins")], [("groups", "admins")]),
    (
        "percentage of actors",
        [lambda f: ops.set_percentage_of_actors(f, pct("12.5"))],
        [("percentage_of_actors", "12.5")],
    ),
    (
        "percentage replaced",
        [
            lambda f: ops.set_percentage_of_actors(f, pct("5")),
            lambda f: ops.set_percentage_of_actors(f, pct("25.0")),
        ],
        [("percentage_of_actors", "25.0")],
    ),
    (
        "percentage disabled writes 0",
        [
            lambda f: ops.set_percentage_of_actors(f, pct("25")),
            ops.disable_percentage_of_actors,
        ],
        [("percentage_of_actors", "0")],
    ),
    (
        "percentage of time",
        [lambda f: ops.set_percentage_of_time(f, pct("10"))],
        [("percentage_of_time", "10")],
    ),
    (
        "boolean clears every other gate",
        [
            lambda f: ops.add_actor(f, "User;1"),
            lambda f: ops.add_group(f, "admins"),
            lambda f: ops.set_percentage_of_actors(f, pct("25")),
            ops.enable,
        ],
        [("boolean", "true")],
    ),
    (
        "boolean disable clears all",
        [lambda f: ops.add_actor(f, "User;1"), ops.enable, ops.disable],
        [],
    ),
    (
        "clear",
        [
            lambda f: ops.add_actor(f, "User;1"),
            lambda f: ops.set_percentage_of_time(f, pct("50")),
            ops.clear,
        ],
        [],
    ),
    (
        "every gate but boolean",
        [
            lambda f: ops.add_actor(f, "User;1"),
            lambda f: ops.add_group(f, "admins"),
            lambda f: ops.set_percentage_of_actors(f, pct("33.333")),
            lambda f: ops.set_percentage_of_time(f, pct("0")),
        ],
        [
            ("actors", "User;1"),
            ("groups", "admins"),
            ("percentage_of_actors", "33.333"),
            ("percentage_of_time", "0"),
        ],
    ),
    (
        "expression",
        [lambda f: ops.set_expression(f, {"Equal": [{"Property": "plan"}, "basic"]})],
        [("expression", '{"Equal":[{"Property":["plan"]},"basic"]}')],
    ),
]


@pytest.mark.parametrize(
    ("changes", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_writes_leave_the_rows_ruby_flipper_leaves(
    flipper_setup: FlipperSetup,
    changes: list[Change],
    expected: list[tuple[str, str]],
) -> None:
    flipper_setup.tables("text")
    store = flipper_setup.open()
    store.create_flag(Flag("f"), ALICE)
    for change in changes:
        store.change_flag("f", change, ALICE)
    assert feature_keys(flipper_setup.flipper_url) == ["f"]
    assert sorted(gate_rows(flipper_setup.flipper_url).get("f", [])) == sorted(expected)
    assert store.pending() == []
    assert store.sync().recorded == []  # flagramp's own writes are not "outside"


def test_remove_deletes_the_feature_row_and_its_gates(
    flipper_setup: FlipperSetup,
) -> None:
    flipper_setup.tables("text")
    store = flipper_setup.open()
    store.create_flag(Flag("gone", actors=("User;1",)), ALICE)
    store.create_flag(Flag("kept", boolean=True), ALICE)
    store.delete_flag("gone", ALICE)
    assert feature_keys(flipper_setup.flipper_url) == ["kept"]
    assert gate_rows(flipper_setup.flipper_url) == {"kept": [("boolean", "true")]}


def test_rows_carry_utc_timestamps_and_new_ids_per_change(
    flipper_setup: FlipperSetup,
) -> None:
    flipper_setup.tables("text")
    store = flipper_setup.open()
    before = dt.datetime.now(dt.UTC).replace(tzinfo=None) - dt.timedelta(seconds=2)
    store.create_flag(Flag("f", percentage_of_actors=pct("5")), ALICE)
    store.change_flag("f", lambda f: ops.set_percentage_of_actors(f, pct("25")), ALICE)
    engine = sa.create_engine(flipper_setup.flipper_url)
    with engine.connect() as conn:
        rows = conn.exec_driver_sql(
            "SELECT id, created_at, updated_at FROM flipper_gates"
        ).all()
    engine.dispose()
    assert len(rows) == 1  # the 5 % row was deleted, the 25 % row inserted
    row_id, created, updated = rows[0]
    assert row_id == 2  # a new row, as Ruby's delete-then-insert gives
    stamp = created if isinstance(created, dt.datetime) else _parse(created)
    assert before <= stamp <= before + dt.timedelta(minutes=1)
    assert created == updated


def _parse(text: object) -> dt.datetime:
    return dt.datetime.fromisoformat(str(text))


def test_additions_are_written_as_one_expression_with_the_percentage_at_zero(
    flipper_setup: FlipperSetup,
) -> None:
    flipper_setup.tables("text")
    store = flipper_setup.open()
    store.put_segment(Segment.from_rules("oracle", ["ehr == oracle"]), ALICE)
    store.create_flag(
        Flag("uae", eligibility="oracle", percentage_of_actors=pct("25")), ALICE
    )
    # The example, character for character.
    assert gate_rows(flipper_setup.flipper_url)["uae"] == [
        (
            "expression",
            '{"All":[{"Equal":[{"Property":["ehr"]},"oracle"]},'
            '{"PercentageOfActors":[{"Property":["flipper_id"]},25]}]}',
        ),
        ("percentage_of_actors", "0"),
    ]
    # A new segment rule rewrites every flag limited to it.
    store.put_segment(Segment.from_rules("oracle", ["ehr in [oracle, cerner]"]), ALICE)
    rows = dict(gate_rows(flipper_setup.flipper_url)["uae"])
    assert rows["expression"] == (
        '{"All":[{"Any":[{"Equal":[{"Property":["ehr"]},"oracle"]},'
        '{"Equal":[{"Property":["ehr"]},"cerner"]}]},'
        '{"PercentageOfActors":[{"Property":["flipper_id"]},25]}]}'
    )
    assert rows["percentage_of_actors"] == "0"
    assert store.sync().recorded == []


def test_other_environments_never_reach_flippers_tables(
    flipper_setup: FlipperSetup,
) -> None:
    flipper_setup.tables("text")
    store = flipper_setup.open()
    store.create_flag(Flag("x", boolean=True), ALICE, "staging")
    assert feature_keys(flipper_setup.flipper_url) == []
    assert store.require_flag("x", "staging").boolean


def test_a_table_prefix_and_an_environment_come_from_the_url(
    flipper_setup: FlipperSetup,
) -> None:
    flipper_setup.tables("text", prefix="app_")
    store = flipper_setup.open(prefix="app_", environment="staging")
    assert store.environment == "staging"
    store.create_flag(Flag("x", boolean=True), ALICE, "staging")
    store.create_flag(Flag("y", boolean=True), ALICE, "production")
    assert feature_keys(flipper_setup.flipper_url, "app_") == ["x"]
    assert gate_rows(flipper_setup.flipper_url, "app_") == {"x": [("boolean", "true")]}


def test_a_big_allow_list_is_one_row_per_actor(flipper_setup: FlipperSetup) -> None:
    flipper_setup.tables("string")
    store = flipper_setup.open()
    actors = tuple(f"veteran-{i:05}@example.va.gov" for i in range(2_000))
    store.create_flag(Flag("big", actors=actors), ALICE)
    rows = gate_rows(flipper_setup.flipper_url)["big"]
    assert [v for _, v in rows] == list(actors)
    store.change_flag("big", lambda f: ops.remove_actor(f, actors[7]), ALICE)
    assert len(gate_rows(flipper_setup.flipper_url)["big"]) == 1_999


def test_store_is_a_flipper_tables_store(store: FlipperTablesStore) -> None:
    assert store.is_adopted()
    assert not store.can_share_users("production")
    assert store.can_share_users("staging")


def test_an_environment_snapshot_written_back_reaches_flippers_tables(
    flipper_setup: FlipperSetup,
) -> None:
    # Seed 004's "restore on No-Go" on Flipper's tables: the restore is a unit
    # of work like any other, so its changes go through the outbox.
    from flagramp.store import restore_environment, snapshot_environment

    flipper_setup.tables("text")
    store = flipper_setup.open()
    store.create_flag(Flag("vaos", percentage_of_actors=pct("5")), ALICE)
    with store.unit_of_work(ALICE) as unit:
        ref = snapshot_environment(
            unit, "production", "before stage 2", now=store.clock.now()
        )
    store.change_flag(
        "vaos", lambda f: ops.set_percentage_of_actors(f, pct("25")), ALICE
    )
    store.create_flag(Flag("new_thing", boolean=True), ALICE)
    restore_environment(store, ref, author=ALICE)
    assert feature_keys(flipper_setup.flipper_url) == ["vaos"]
    assert gate_rows(flipper_setup.flipper_url) == {
        "vaos": [("percentage_of_actors", "5")]
    }
    assert store.sync().recorded == []
