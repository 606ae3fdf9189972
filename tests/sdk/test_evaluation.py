"""Evaluation through the client: Flipper's answers, never an exception, no I/O."""

from __future__ import annotations

import logging
import random
from collections.abc import Iterator
from typing import Any

import pytest

from flagramp.core.clock import VirtualClock
from flagramp.core.flags import Actor, Evaluator, Flag, Percentage, Segment
from flagramp.sdk import Client
from tests.sdk.fake_server import FakeServer
from tests.sdk.helpers import FakeClock, snapshot_of

PCT = Percentage.parse("25")
SEGMENTS = [
    Segment.from_rules("oracle", ["ehr == oracle"]),
    Segment.from_rules("seniors", ["age >= 65"]),
]
FLAGS = [
    Flag(key="kill_switch", boolean=True),
    Flag(key="off_flag"),
    Flag(key="new_checkout", percentage_of_actors=PCT),
    Flag(key="oracle_scheduling", percentage_of_actors=PCT, eligibility="oracle"),
    Flag(
        key="beta_portal",
        actors=("User;3", "User;4"),
        denied_actors=("User;5", "User;8"),
        percentage_of_actors=PCT,
    ),
    Flag(key="seniors_first", groups=("seniors",)),
    Flag(key="basic_plan", expression={"Equal": [{"Property": ["plan"]}, "basic"]}),
    Flag(key="undefined_segment", boolean=True, eligibility="nobody"),
]
ACTORS = [
    (
        f"User;{i}",
        {
            "ehr": "oracle" if i % 2 else "vista",
            "age": 20 + i % 70,
            "plan": "basic" if i % 3 else "pro",
        },
    )
    for i in range(3000)
]


@pytest.fixture
def client() -> Iterator[Client]:
    with Client(None, None, "production", bootstrap=snapshot_of(FLAGS, SEGMENTS)) as c:
        yield c


@pytest.mark.parametrize("flag", FLAGS, ids=lambda f: f.key)
def test_the_client_answers_as_the_core_evaluator(client: Client, flag: Flag) -> None:
    evaluator = Evaluator({s.name: s for s in SEGMENTS}, VirtualClock(), random.random)
    for actor, properties in ACTORS:
        expected = evaluator.is_enabled(flag, [Actor(actor, properties)])
        assert client.is_enabled(flag.key, actor, properties) is expected, actor
    assert client.is_enabled(flag.key) is evaluator.is_enabled(flag, [])


def test_details_name_the_deciding_gate(client: Client) -> None:
    assert client.evaluate("beta_portal", "User;3").gate == "actor"
    assert client.evaluate("beta_portal", "User;5").gate == "deny"
    assert client.evaluate("kill_switch").gate == "boolean"
    denied = client.evaluate("oracle_scheduling", "User;2", {"ehr": "vista"})
    assert (denied.enabled, denied.gate, denied.variant) == (
        False,
        "eligibility",
        "off",
    )
    missing = client.evaluate("nope", "User;1", default=True)
    assert (missing.enabled, missing.gate, missing.error) == (
        True,
        "none",
        "flag_not_found",
    )


BAD_CALLS: list[tuple[str, Any, Any, Any]] = [
    ("unknown flag", "no_such_flag", "User;1", None),
    ("key is not hashable", ["kill_switch"], "User;1", None),
    ("actor is a number", "new_checkout", 42, None),
    ("actor is a list", "new_checkout", ["User;1"], None),
    ("properties are a list", "oracle_scheduling", "User;1", ["ehr"]),
    ("properties are a string", "seniors_first", "User;1", "age=70"),
]


@pytest.mark.parametrize(
    ("what", "key", "actor", "properties"), BAD_CALLS, ids=[c[0] for c in BAD_CALLS]
)
@pytest.mark.parametrize("default", [False, True])
def test_is_enabled_never_raises_and_answers_the_default(
    client: Client, what: str, key: Any, actor: Any, properties: Any, default: bool
) -> None:
    assert client.is_enabled(key, actor, properties, default) is default
    assert client.evaluate(key, actor, properties, default).enabled is default


def test_an_actor_of_the_wrong_type_does_not_change_what_a_flag_for_all_answers() -> (
    None
):
    flags = [Flag(key="on", boolean=True)]
    server = FakeServer()
    for recording in (False, True):
        with Client(
            "http://flags.test",
            "t",
            "production",
            transport=server.transport(),
            bootstrap=snapshot_of(flags),
            updates="off",
            send_events=recording,
        ) as client:
            assert client.is_enabled("on", ["User;1"]) is True  # type: ignore[arg-type]


def test_a_failure_is_logged_once_however_often_it_happens(
    client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="flagramp.sdk"):
        for _ in range(50):
            client.is_enabled("new_checkout", 42)  # type: ignore[arg-type]
            client.is_enabled("no_such_flag", "User;1")
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 2, messages
    assert any("'new_checkout' failed" in m and "42" not in m[:10] for m in messages)
    assert any("no flag 'no_such_flag'" in m for m in messages)


def test_a_client_without_flags_answers_every_default_quietly(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with (
        caplog.at_level(logging.WARNING, logger="flagramp.sdk"),
        Client(None, None, "production") as empty,
    ):
        assert empty.is_enabled("kill_switch", "User;1", default=True) is True
        assert empty.evaluate("kill_switch").error == "not_ready"
        assert empty.version is None and empty.source == "none"
    assert caplog.records == []


def test_an_evaluation_makes_no_network_call() -> None:
    server = FakeServer()
    for flag in FLAGS:
        server.set_flag(flag)
    for segment in SEGMENTS:
        server.set_segment(segment)
    client = Client(
        "http://flags.test",
        "t",
        "production",
        transport=server.transport(),
        flush_interval=3600,
        batch_size=100_000,
    )
    try:
        assert client.wait_until_ready(5)
        before = len(server.requests)
        server.down = True  # any call now would fail loudly in the transport
        answers = [client.is_enabled(f.key, a, p) for f in FLAGS for a, p in ACTORS]
        assert len(server.requests) == before
        assert any(answers) and not all(answers)
    finally:
        server.close()
        client.close(timeout=0.5)


def exposures_of(server: FakeServer) -> list[tuple[str, str, str]]:
    return [
        (e["actor"], e["flag"], e["variant"])
        for e in server.events()
        if e["type"] == "exposure"
    ]


def recording_client(server: FakeServer, clock: FakeClock, flags: list[Flag]) -> Client:
    return Client(
        "http://flags.test",
        "t",
        "production",
        transport=server.transport(),
        bootstrap=snapshot_of(flags),
        updates="off",
        flush_interval=3600,
        clock=clock,
    )


def test_exposures_are_sent_once_per_actor_flag_variant_and_minute() -> None:
    server, clock = FakeServer(), FakeClock(1_800_000_000.0)  # a minute's start
    flags = [Flag(key="a", boolean=True), Flag(key="b", actors=("User;1",))]
    with recording_client(server, clock, flags) as client:
        for _ in range(3):
            client.is_enabled("a", "User;1")
            client.is_enabled("a", "User;2")
            client.is_enabled("b", "User;1")
            client.is_enabled("b", "User;2")
            client.is_enabled("a")  # no actor: nothing to attribute
            client.is_enabled("a", "")  # the server needs a non-empty actor
        clock.advance(59.9)
        client.is_enabled("a", "User;1")
        clock.advance(0.1)  # the next minute
        client.is_enabled("a", "User;1")
        assert client.flush()
    assert exposures_of(server) == [
        ("User;1", "a", "on"),
        ("User;2", "a", "on"),
        ("User;1", "b", "on"),
        ("User;2", "b", "off"),
        ("User;1", "a", "on"),
    ]
    allow_listed = [e["allow_listed"] for e in server.events()]
    assert allow_listed == [False, False, True, False, False]
    assert {e["environment"] for e in server.events()} == {"production"}


def test_a_flag_that_changes_variant_is_exposed_again_within_the_minute() -> None:
    server, clock = FakeServer(), FakeClock()
    with recording_client(server, clock, [Flag(key="a")]) as client:
        client.is_enabled("a", "User;1")
        client._apply_snapshot(
            _parse(snapshot_of([Flag(key="a", boolean=True)], version=2)), "server"
        )
        client.is_enabled("a", "User;1")
        client.is_enabled("a", "User;1")
        client._apply_snapshot(
            _parse(snapshot_of([Flag(key="a")], version=3)), "server"
        )
        client.is_enabled("a", "User;1")
        assert client.flush()
    # Back to off within the minute: sent again, so that the server's latest
    # exposure (the one it attributes outcomes by) is the actor's variant.
    assert exposures_of(server) == [
        ("User;1", "a", "off"),
        ("User;1", "a", "on"),
        ("User;1", "a", "off"),
    ]


def test_a_flag_that_draws_per_check_sends_each_variant_once_a_minute() -> None:
    server, clock = FakeServer(), FakeClock()
    flag = Flag(key="a", percentage_of_time=Percentage.parse("50"))
    with recording_client(server, clock, [flag]) as client:
        answers = {client.is_enabled("a", "User;1") for _ in range(200)}
        assert answers == {True, False}
        assert client.flush()
    assert sorted(exposures_of(server)) == [
        ("User;1", "a", "off"),
        ("User;1", "a", "on"),
    ]


def test_a_clock_set_back_does_not_silence_exposures() -> None:
    server, clock = FakeServer(), FakeClock()
    with recording_client(server, clock, [Flag(key="a", boolean=True)]) as client:
        client.is_enabled("a", "User;1")
        clock.advance(-3600)
        client._check_clock()  # the sender's periodic check
        client.is_enabled("a", "User;1")
        assert client.flush()
    assert len(exposures_of(server)) == 2


def _parse(document: dict[str, Any]) -> Any:
    from flagramp.sdk._documents import parse_snapshot

    return parse_snapshot(document, "test")
