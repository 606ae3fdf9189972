"""Ruby Flipper against the live API: the same changes made through Flipper's DSL
over HTTP and on Ruby's own Memory adapter must leave the same gate values, in
flagramp's store too, and Ruby's `enabled?` over HTTP must agree with flagramp.

Ruby is Debian's ruby-flipper 0.25.4. Debian does not ship its HTTP adapter, so the
peer uses the real `Flipper::Adapters::Http` when a Flipper checkout's lib/ is on
RUBYLIB, and otherwise an adapter written from flagramp's Flipper reference that
sends what 0.25's (mode "0.25") or main's (mode "main") sends; see
ruby/http_adapter_peer.rb.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from flagramp.core.clock import VirtualClock
from flagramp.core.flags import (
    Actor,
    Evaluator,
    Flag,
    Percentage,
    Segment,
    flag_to_gates,
)
from flagramp.server.flipper_api import Caller, flipper_api, token_table
from flagramp.store import Author, FlagStore
from tests.compat.ruby_peer import RubyError, RubyPeer
from tests.server.flipper_api.conftest import SEGMENTS, fresh_store
from tests.server.flipper_api.live import serving
from tests.server.flipper_api.ruby_processes import start_ruby

Step = list[Any]

SCENARIOS: dict[str, list[Step]] = {
    "add": [["add", "search"]],
    "enable-boolean": [["enable", "search"]],
    "boolean-clears-the-other-gates": [
        ["enable_actor", "search", "User;1"],
        ["enable_group", "search", "admins"],
        ["enable_percentage_of_actors", "search", 25],
        ["enable", "search"],
    ],
    "actors": [
        ["enable_actor", "search", "User;1"],
        ["enable_actor", "search", "User;2"],
        ["enable_actor", "search", "User;1"],
        ["disable_actor", "search", "User;2"],
    ],
    "groups": [
        ["enable_group", "search", "admins"],
        ["enable_group", "search", "unregistered"],
        ["disable_group", "search", "unregistered"],
    ],
    "percentages": [
        ["enable_percentage_of_actors", "search", 12.5],
        ["enable_percentage_of_time", "search", 100],
        ["enable_percentage_of_actors", "other", 25],
        ["disable_percentage_of_actors", "other"],
    ],
    "percentage-as-ruby-types-it": [
        ["enable_percentage_of_actors", "search", "33.333"]
    ],
    "disable-clears-all": [
        ["enable_actor", "search", "User;1"],
        ["enable_percentage_of_time", "search", 5],
        ["disable", "search"],
    ],
    "clear-keeps-the-feature": [
        ["enable_actor", "search", "User;1"],
        ["enable_group", "search", "admins"],
        ["clear", "search"],
    ],
    "remove": [["enable", "search"], ["add", "other"], ["remove", "search"]],
    "slashes-and-semicolons": [
        ["enable_actor", "teams/search", "User;1"],
        ["enable_percentage_of_actors", "teams/search/v2", 50],
    ],
}

#: Who `enabled?` is checked for on both sides (groups read `role`).
POOL: list[dict[str, Any] | None] = [
    None,
    {"id": "User;1", "props": {}},
    {"id": "User;2", "props": {"role": "admin"}},
    *({"id": f"User;{n}", "props": {}} for n in range(100, 160)),
]


@pytest.fixture(scope="module")
def server(
    migrated_sqlite: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, FlagStore]]:
    store = fresh_store(migrated_sqlite, tmp_path_factory.mktemp("ruby"))
    with serving(flipper_api(store)) as url:
        yield url, store


@pytest.fixture(scope="module")
def ruby() -> Iterator[RubyPeer]:
    yield from start_ruby(
        "http_adapter_peer.rb",
        ["flipper", "json", "net/http"],
        "Ruby Flipper (Debian package ruby-flipper)",
    )


@pytest.fixture(params=["0.25", "main"])
def connected(
    request: pytest.FixtureRequest, ruby: RubyPeer, server: tuple[str, FlagStore]
) -> tuple[RubyPeer, FlagStore]:
    url, store = server
    store.put_flags([], Author("test-reset"), remove_missing=True)
    hello = ruby.call("connect", url=url, mode=request.param)
    assert hello["flipper"]
    return ruby, store


def _sets_sorted(features: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {
        key: {
            gate: sorted(value) if isinstance(value, list) else value
            for gate, value in gates.items()
            if gate != "expression"
        }
        for key, gates in features.items()
    }


def _stored(store: FlagStore) -> dict[str, dict[str, Any]]:
    return _sets_sorted({f.key: dict(flag_to_gates(f)) for f in store.list_flags()})


@pytest.mark.parametrize("steps", SCENARIOS.values(), ids=list(SCENARIOS))
def test_ruby_over_http_leaves_what_ruby_in_memory_leaves(
    steps: list[Step], connected: tuple[RubyPeer, FlagStore]
) -> None:
    ruby, store = connected
    ruby.call("run", steps=steps)
    memory = _sets_sorted(ruby.call("memory_get_all", steps=steps)["features"])
    over_http = _sets_sorted(ruby.call("get_all")["features"])
    assert over_http == memory
    assert _stored(store) == memory
    assert set(ruby.call("features")["keys"]) == set(memory)
    keys = sorted(memory)
    assert _sets_sorted(ruby.call("get_multi", keys=keys)["features"]) == memory


@pytest.mark.parametrize(
    "steps",
    [
        [["enable_percentage_of_actors", "search", 33.333]],
        [["enable_actor", "search", "User;1"], ["enable_group", "search", "admins"]],
        [
            ["enable_percentage_of_actors", "search", 50],
            ["enable_actor", "search", "x"],
        ],
    ],
    ids=["percentage", "actor-and-group", "percentage-and-actor"],
)
def test_ruby_enabled_over_http_agrees_with_flagramp(
    steps: list[Step], connected: tuple[RubyPeer, FlagStore]
) -> None:
    ruby, store = connected
    ruby.call("run", steps=steps)
    in_ruby = ruby.call("check", feature="search", actors=POOL)["enabled"]
    flag = store.get_flag("search")
    assert flag is not None
    evaluator = Evaluator({s.name: s for s in SEGMENTS}, VirtualClock(), random.random)
    in_flagramp = [
        evaluator.is_enabled(flag, [] if a is None else [Actor(a["id"], a["props"])])
        for a in POOL
    ]
    assert in_ruby == in_flagramp
    assert any(in_ruby) and not all(in_ruby)


def test_flippers_own_sync_imports_through_the_single_endpoints(
    connected: tuple[RubyPeer, FlagStore],
) -> None:
    ruby, store = connected
    ruby.call("run", steps=[["enable", "stale"], ["enable_actor", "kept", "User;9"]])
    source: list[Step] = [
        ["enable_actor", "kept", "User;1"],
        ["enable_group", "kept", "admins"],
        ["enable_percentage_of_time", "new", 10],
    ]
    ruby.call("import_from_memory", steps=source)
    expected = _sets_sorted(ruby.call("memory_get_all", steps=source)["features"])
    assert _stored(store) == expected


ADDITIONS = [
    Flag(
        "eligible_25", eligibility="oracle", percentage_of_actors=Percentage.parse("25")
    ),
    Flag("eligible_on", eligibility="oracle", boolean=True, actors=("User;7",)),
    Flag("denied_on", denied_actors=("User;2", ""), boolean=True),
    Flag(
        "denied_poa",
        denied_actors=("User;101",),
        percentage_of_actors=Percentage.parse("40"),
    ),
    Flag("not_vista_admins", eligibility="not_vista", groups=("admins",)),
]
EXPRESSION_POOL: list[dict[str, Any] | None] = [
    None,
    {"id": "", "props": {"ehr": "oracle"}},
    {"id": "User;2", "props": {"ehr": "oracle", "role": "admin"}},
    {"id": "User;7", "props": {"ehr": "vista"}},
    *(
        {"id": f"User;{n}", "props": {"ehr": ["oracle", "vista", "cerner"][n % 3]}}
        for n in range(100, 220)
    ),
    {"id": "User;300", "props": {"role": "admin"}},
]


def test_flagramps_additions_served_as_expressions_answer_in_ruby_as_in_flagramp(
    migrated_sqlite: Path, tmp_path: Path, ruby: RubyPeer
) -> None:
    """Needs Flipper >= 1.1 on RUBYLIB (Debian's 0.25 has no expression gate)."""
    store = fresh_store(migrated_sqlite, tmp_path)
    store.put_segment(Segment.from_rules("not_vista", ["ehr != vista"]), Author("t"))
    for flag in ADDITIONS:
        store.create_flag(flag, Author("t"))
    segments = store.segments()
    evaluator = Evaluator(segments, VirtualClock(), random.random)
    with serving(flipper_api(store)) as url:
        version = ruby.call("connect", url=url, mode="main")["flipper"]
        if tuple(int(p) for p in version.split(".")[:2]) < (1, 1):
            pytest.skip(f"Ruby Flipper {version} has no expression gate")
        for flag in ADDITIONS:
            in_ruby = ruby.call("check", feature=flag.key, actors=EXPRESSION_POOL)
            in_flagramp = [
                evaluator.is_enabled(
                    flag, [] if a is None else [Actor(a["id"], a["props"])]
                )
                for a in EXPRESSION_POOL
            ]
            assert in_ruby["enabled"] == in_flagramp, flag.key


def test_a_refusal_reaches_ruby_as_flippers_error(
    migrated_sqlite: Path, tmp_path: Path, ruby: RubyPeer
) -> None:
    store = fresh_store(migrated_sqlite, tmp_path)
    reader = Caller(Author("dashboard"), may_write=False)
    with serving(flipper_api(store, authorize=token_table({"ro": reader}))) as url:
        ruby.call(
            "connect", url=url, mode="main", headers={"flipper-cloud-token": "ro"}
        )
        assert ruby.call("get_all")["features"] == {}
        with pytest.raises(RubyError, match="Failed with status: 403") as refused:
            ruby.call("run", steps=[["enable", "search"]])
        assert "This token may read flags but not change them." in str(refused.value)
    assert store.list_flags() == []
