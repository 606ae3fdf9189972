"""Flipper's tables shared with the real Ruby Flipper 0.25.4 and its ActiveRecord
adapter, both ways, on SQLite, PostgreSQL and MariaDB.

- Ruby writes through `Flipper::Adapters::ActiveRecord` (every gate type 0.25
  has); flagramp's store reads the same database and its evaluator answers
  10,000 actors exactly as Ruby's `enabled?`.
- flagramp writes (add, enable, actors, groups, percentages, disable, clear,
  remove); Ruby reads back the same gate values, the rows are the rows Ruby
  writes for the same calls, and Ruby answers the 10,000 actors as flagramp.

The tables are made by Ruby: Flipper 0.25's own migration from the gem (value
varchar), or Flipper 1.x's (value text) for the expression test.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import ExitStack
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from flagramp.core.clock import VirtualClock
from flagramp.core.flags import Actor, Evaluator, Flag, Percentage, Segment
from flagramp.core.flags.flipper_format import flag_to_gates
from flagramp.store import Author, FlipperTablesStore
from flagramp.store.flipper import ADOPT_ACTION, OUTSIDE_ACTION
from tests.compat.active_record import active_record_config, start_active_record_peer
from tests.compat.ruby_peer import RubyPeer
from tests.compat.test_gates_vs_ruby import SCENARIOS, SEGMENTS, apply
from tests.conftest import SQL_BACKENDS, migrated_database
from tests.store.flipper.conftest import FlipperSetup
from tests.store.flipper.tables import create_flipper_tables, gate_rows

ALICE = Author("alice@va.gov", "compat")
ACTORS = 10_000

#: flagramp's writes, each on a feature of its own, the same calls made by Ruby
#: on a twin feature. `remove` and `clear` follow other writes, so that they
#: have rows to delete.
WRITES: dict[str, list[tuple[str, Any]]] = {
    "add": [("add", None)],
    "enable": [("enable_actor", "User;1"), ("enable", None)],
    "actors": [
        ("enable_actor", "User;1"),
        ("enable_actor", ""),
        ("enable_actor", "José"),
    ],
    "actor-off": [
        ("enable_actor", "User;1"),
        ("enable_actor", "User;2"),
        ("disable_actor", "User;1"),
    ],
    "groups": [
        ("enable_group", "oracle"),
        ("enable_group", "seniors"),
        ("disable_group", "seniors"),
    ],
    "poa": [("enable_percentage_of_actors", 12.5)],
    "poa-again": [
        ("enable_percentage_of_actors", 5),
        ("enable_percentage_of_actors", 33.333),
    ],
    "poa-off": [
        ("enable_percentage_of_actors", 25),
        ("disable_percentage_of_actors", None),
    ],
    "pot": [("enable_percentage_of_time", 100)],
    "pot-off": [
        ("enable_percentage_of_time", 100),
        ("disable_percentage_of_time", None),
    ],
    "disable": [("enable_group", "oracle"), ("enable", None), ("disable", None)],
    "clear": [
        ("enable_actor", "User;3"),
        ("enable_percentage_of_actors", 50),
        ("clear", None),
    ],
    "remove": [("enable_actor", "User;1"), ("remove", None)],
    "mixed": [
        ("enable_actor", "User;110"),
        ("enable_group", "oracle"),
        ("enable_percentage_of_actors", 25),
        ("enable_percentage_of_time", 0),
    ],
}


def actor_pool(n: int = ACTORS, seed: int = 20261201) -> list[dict[str, Any]]:
    """Actors with varied ids and the properties the groups read."""
    rng = random.Random(seed)
    pool: list[dict[str, Any]] = [
        {"id": "", "props": {"ehr": "oracle"}},
        {"id": "User;1", "props": {}},
        {"id": "José", "props": {"ehr": "oracle", "age": 70}},
        {"id": "用户;42", "props": {"age": 65}},
    ]
    while len(pool) < n:
        ehr = rng.choice(["oracle", "vista", None])
        props: dict[str, Any] = {} if ehr is None else {"ehr": ehr}
        if rng.random() < 0.5:
            props["age"] = rng.randrange(18, 100)
        kind = len(pool) % 3
        flipper_id = (
            f"User;{len(pool)}"
            if kind == 0
            else f"patient.{rng.randrange(10**6)}@example.va.gov"
            if kind == 1
            else f"{rng.getrandbits(64):016x}"
        )
        pool.append({"id": flipper_id, "props": props})
    return pool


POOL = actor_pool()


@pytest.fixture(scope="module")
def ar_ruby(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RubyPeer]:
    peer_iter = start_active_record_peer(tmp_path_factory.mktemp("ar"))
    peer = next(peer_iter)
    peer.call("actors", actors=POOL)
    yield peer
    next(peer_iter, None)


@pytest.fixture(params=SQL_BACKENDS)
def setup(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[FlipperSetup]:
    with ExitStack() as stack, migrated_database(request, tmp_path) as own_url:
        flipper_url = (
            f"sqlite:///{tmp_path / 'rails_app.db'}"
            if request.param == "sqlite"
            else own_url
        )
        yield FlipperSetup(own_url, flipper_url, stack)


def ruby_tables(ruby: RubyPeer, setup: FlipperSetup, value: str) -> str:
    ruby.call("connect", config=active_record_config(setup.flipper_url))
    return str(ruby.call("migrate", value=value)["value"])


def flagramp_bits(flag: Flag, segments: dict[str, Segment]) -> str:
    check = Evaluator(segments, VirtualClock(), random.Random(3).random).compile(flag)
    return "".join("1" if check.is_enabled(a["id"], a["props"]) else "0" for a in POOL)


def test_ruby_writes_and_flagramp_reads_and_answers_alike(
    ar_ruby: RubyPeer, setup: FlipperSetup
) -> None:
    ruby_tables(ar_ruby, setup, "string")
    ar_ruby.call(
        "apply", features={"before_adoption": [("enable_percentage_of_actors", 5)]}
    )
    store = setup.open()
    for segment in SEGMENTS.values():
        store.put_segment(segment, ALICE)
    assert store.history("before_adoption")[0].action == ADOPT_ACTION
    ar_ruby.call("apply", features=SCENARIOS)
    report = store.sync()
    assert sorted(report.recorded) == sorted(SCENARIOS)
    read = ar_ruby.call("read", keys=list(SCENARIOS))
    bits = ar_ruby.call("evaluate", keys=list(SCENARIOS))["bits"]
    for name, changes in SCENARIOS.items():
        flag = store.require_flag(name)
        assert flag == apply(Flag(name), changes), name
        ours = flag_to_gates(flag)
        assert ours.pop("expression") is None
        assert {
            k: sorted(str(x) for x in v) if isinstance(v, list) else v
            for k, v in ours.items()
        } == read["gates"][name], name
        assert flagramp_bits(flag, SEGMENTS) == bits[name], name
        assert store.history(name)[-1].action == OUTSIDE_ACTION
    # Ruby goes on: a removal and a change are followed too.
    ar_ruby.call(
        "apply",
        features={"actors": [("remove", None)], "poa-100": [("disable", None)]},
    )
    assert sorted(store.sync().recorded) == ["actors", "poa-100"]
    assert store.get_flag("actors") is None
    assert store.require_flag("poa-100").state == "off"
    assert store.verify_audit().ok


def test_flagramp_writes_and_ruby_reads_the_rows_it_writes_itself(
    ar_ruby: RubyPeer, setup: FlipperSetup
) -> None:
    ruby_tables(ar_ruby, setup, "string")
    store = setup.open()
    for segment in SEGMENTS.values():
        store.put_segment(segment, ALICE)
    for name, calls in WRITES.items():
        write_through_flagramp(store, f"fr_{name}", calls)
    ar_ruby.call("apply", features={f"rb_{n}": calls for n, calls in WRITES.items()})
    rows = gate_rows(setup.flipper_url)
    read = ar_ruby.call(
        "read", keys=[f"{side}_{n}" for n in WRITES for side in ("fr", "rb")]
    )
    for name in WRITES:
        assert sorted(rows.get(f"fr_{name}", [])) == sorted(
            rows.get(f"rb_{name}", [])
        ), name
        assert read["gates"][f"fr_{name}"] == read["gates"][f"rb_{name}"], name
    kept = [n for n in WRITES if n != "remove"]
    assert read["features"] == sorted(f"{s}_{n}" for n in kept for s in ("fr", "rb"))
    keys = [f"fr_{n}" for n in kept if not n.startswith("pot")]
    bits = ar_ruby.call("evaluate", keys=keys)["bits"]
    for key in keys:
        assert bits[key] == flagramp_bits(store.require_flag(key), SEGMENTS), key
    # Ruby's own writes on the twins are outside changes; flagramp's are not.
    assert sorted(store.sync().recorded) == sorted(f"rb_{n}" for n in kept)


def write_through_flagramp(
    store: FlipperTablesStore, key: str, calls: list[tuple[str, Any]]
) -> None:
    """The calls as flagramp's store makes them; Ruby's `enable`/`disable`
    add the feature first, so the flag is created first here too."""
    for op, arg in calls:
        if store.get_flag(key) is None and op != "remove":
            store.create_flag(Flag(key), ALICE)
        if op == "add":
            continue
        if op == "remove":
            store.delete_flag(key, ALICE)
            continue
        store.change_flag(key, partial(_one, call=(op, arg)), ALICE)


def _one(flag: Flag, call: tuple[str, Any]) -> Flag:
    return apply(flag, [call])


def test_ruby_025_on_text_tables_sees_an_eligibility_flag_off_as_explain_says(
    ar_ruby: RubyPeer, setup: FlipperSetup
) -> None:
    assert ruby_tables(ar_ruby, setup, "text").lower() == "text"
    store = setup.open()
    store.put_segment(SEGMENTS["oracle"], ALICE)
    flag = Flag(
        "uae", eligibility="oracle", percentage_of_actors=Percentage.parse("25")
    )
    store.create_flag(flag, ALICE)
    read = ar_ruby.call("read", keys=["uae"])
    # 0.25 has no expression gate: the expression row is there, Ruby ignores it.
    assert read["gates"]["uae"]["percentage_of_actors"] == "0"
    assert dict(gate_rows(setup.flipper_url)["uae"])["expression"]
    bits = ar_ruby.call("evaluate", keys=["uae"])["bits"]["uae"]
    assert set(bits) == {"0"}
    ours = flagramp_bits(store.require_flag("uae"), store.segments())
    assert "1" in ours
    evaluation = Evaluator(store.segments(), VirtualClock(), random.random).explain(
        flag, [Actor("User;1", {"ehr": "oracle"})]
    )
    assert any(d.clients == "Flipper before 1.1" for d in evaluation.ruby_differences)


@pytest.mark.parametrize("value", ["string", "text"])
def test_the_tests_tables_are_the_ones_rubys_migration_makes(
    ar_ruby: RubyPeer, setup: FlipperSetup, value: str
) -> None:
    ruby_tables(ar_ruby, setup, value)
    by_ruby = _describe(setup.flipper_url)
    for table in ("flipper_gates", "flipper_features"):
        setup_drop(setup.flipper_url, table)
    create_flipper_tables(setup.flipper_url, "string" if value == "string" else "text")
    assert _describe(setup.flipper_url) == by_ruby


def setup_drop(url: str, table: str) -> None:
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql(f"DROP TABLE {table}")
    engine.dispose()


def _describe(url: str) -> dict[str, Any]:
    engine = sa.create_engine(url)
    try:
        inspector = sa.inspect(engine)
        found: dict[str, Any] = {}
        for table in ("flipper_features", "flipper_gates"):
            columns = [
                (
                    c["name"],
                    str(c["type"].compile(engine.dialect)).lower(),
                    c["nullable"],
                )
                for c in inspector.get_columns(table)
            ]
            indexes = sorted(
                (tuple(i["column_names"]), bool(i["unique"]))
                for i in inspector.get_indexes(table)
            )
            found[table] = (columns, indexes)
        return found
    finally:
        engine.dispose()
