"""Updates applied in any order give the flags the server has; readers on other
threads always see one whole table."""

from __future__ import annotations

import json
import logging
import random
import threading

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from flagramp.core.clock import VirtualClock
from flagramp.core.flags import Actor, Evaluator, Flag, Percentage, Segment
from flagramp.sdk import Client
from flagramp.store.documents import flag_document, segment_document
from tests.sdk.helpers import snapshot_of

KEYS = ["a", "b", "c"]
SEGMENT_NAMES = ["oracle", "seniors"]
RULES = ["ehr == oracle", "age >= 65", "ehr in [oracle, vista]", "age < 30"]
ACTORS = [
    (f"User;{i}", {"ehr": ("oracle", "vista", "cerner")[i % 3], "age": 18 + i % 70})
    for i in range(60)
]

flags = st.builds(
    Flag,
    key=st.sampled_from(KEYS),
    boolean=st.booleans(),
    actors=st.lists(st.sampled_from([a for a, _ in ACTORS[:8]]), max_size=3).map(
        lambda a: tuple(dict.fromkeys(a))
    ),
    groups=st.lists(st.sampled_from(SEGMENT_NAMES), max_size=1).map(tuple),
    percentage_of_actors=st.none()
    | st.sampled_from(["0", "12.5", "50", "100"]).map(Percentage.parse),
    denied_actors=st.lists(st.sampled_from([a for a, _ in ACTORS[:8]]), max_size=2).map(
        lambda a: tuple(dict.fromkeys(a))
    ),
    eligibility=st.none() | st.sampled_from([*SEGMENT_NAMES, "undefined"]),
    bucket_key=st.none() | st.sampled_from(KEYS),
)


class Updates(RuleBasedStateMachine):
    """The client's table against a model of the server's flags and segments."""

    def __init__(self) -> None:
        super().__init__()
        self.client = Client(None, None, "production")
        self.flags: dict[str, Flag] = {}
        self.segments: dict[str, Segment] = {}
        self.version = 0

    def change(self, kind: str, key: str, after: object) -> None:
        self.version += 1
        data = {
            "version": self.version,
            "changes": [{"kind": kind, "key": key, "action": "x", "after": after}],
        }
        self.client._handle_stream_event("change", json.dumps(data))

    @rule(flag=flags)
    def set_flag(self, flag: Flag) -> None:
        self.flags[flag.key] = flag
        self.change("flag", flag.key, flag_document(flag))

    @rule(key=st.sampled_from(KEYS))
    def delete_flag(self, key: str) -> None:
        self.flags.pop(key, None)
        self.change("flag", key, None)

    @rule(name=st.sampled_from(SEGMENT_NAMES), text=st.sampled_from(RULES))
    def set_segment(self, name: str, text: str) -> None:
        segment = Segment.from_rules(name, [text])
        self.segments[name] = segment
        self.change("segment", name, segment_document(segment))

    @rule(name=st.sampled_from(SEGMENT_NAMES))
    def delete_segment(self, name: str) -> None:
        self.segments.pop(name, None)
        self.change("segment", name, None)

    @rule()
    def snapshot(self) -> None:
        self.version += 1
        document = snapshot_of(
            self.flags.values(), self.segments.values(), version=self.version
        )
        self.client._handle_stream_event("snapshot", json.dumps(document))

    @rule()
    def stale_change_is_ignored(self) -> None:
        if self.version == 0:
            return
        data = {
            "version": self.version,  # already applied
            "changes": [{"kind": "flag", "key": "a", "action": "x", "after": None}],
        }
        self.client._handle_stream_event("change", json.dumps(data))

    @invariant()
    def answers_are_the_servers(self) -> None:
        evaluator = Evaluator(self.segments, VirtualClock(), random.random)
        assert sorted(self.client.flag_keys) == sorted(self.flags)
        for key, flag in self.flags.items():
            for actor, properties in ACTORS:
                expected = evaluator.is_enabled(flag, [Actor(actor, properties)])
                assert self.client.is_enabled(key, actor, properties) is expected

    def teardown(self) -> None:
        self.client.close()


TestUpdates = Updates.TestCase
TestUpdates.settings = settings(max_examples=40, stateful_step_count=25, deadline=None)


def test_readers_on_other_threads_see_one_whole_table_at_a_time(
    caplog: pytest.LogCaptureFixture,
) -> None:
    oracle = Segment.from_rules("oracle", ["ehr == oracle"])
    versions = [
        [
            Flag(
                key="f",
                percentage_of_actors=Percentage.parse("30"),
                eligibility="oracle",
            )
        ],
        [Flag(key="f", boolean=True, denied_actors=("User;1", "User;2"))],
    ]
    expected = []
    for flag_set in versions:
        evaluator = Evaluator({"oracle": oracle}, VirtualClock(), random.random)
        expected.append(
            {a: evaluator.is_enabled(flag_set[0], [Actor(a, p)]) for a, p in ACTORS}
        )
    client = Client(
        None, None, "production", bootstrap=snapshot_of(versions[0], [oracle])
    )
    stop = threading.Event()
    wrong: list[tuple[str, bool]] = []

    def read() -> None:
        while not stop.is_set():
            for actor, properties in ACTORS:
                answer = client.is_enabled("f", actor, properties)
                if answer not in (expected[0][actor], expected[1][actor]):
                    wrong.append((actor, answer))

    with caplog.at_level(logging.WARNING, logger="flagramp.sdk"):
        readers = [threading.Thread(target=read) for _ in range(4)]
        for reader in readers:
            reader.start()
        for version in range(2, 300):
            document = snapshot_of(versions[version % 2], [oracle], version=version)
            client._handle_stream_event("snapshot", json.dumps(document))
        stop.set()
        for reader in readers:
            reader.join()
    client.close()
    assert wrong == []
    assert caplog.records == []
