"""The client evaluates shared-users flags (a bucket key) as core does."""

from __future__ import annotations

import json
import random

from hypothesis import given, settings
from hypothesis import strategies as st

from flagramp.core.clock import VirtualClock
from flagramp.core.flags import Actor, Evaluator, Flag, Percentage
from flagramp.sdk import Client
from flagramp.sdk._documents import read_flag
from flagramp.store.documents import flag_document
from tests.sdk.helpers import snapshot_of

FIRST, SECOND = "mhv_curated_list_flow", "mhv_recent_recipients"
CORE = Evaluator({}, VirtualClock(), random.random)

percentages = st.integers(min_value=0, max_value=100_000).map(
    lambda n: Percentage.parse(f"{n / 1000:g}")
)
actor_ids = st.lists(st.text(max_size=30), min_size=1, max_size=25)


def test_a_flag_document_carries_the_bucket_key() -> None:
    shared = Flag(SECOND, percentage_of_actors=Percentage.parse("5"), bucket_key=FIRST)
    assert read_flag(flag_document(shared)) == shared
    assert read_flag(flag_document(Flag(FIRST))).bucket_key is None


@settings(max_examples=60, deadline=None)
@given(first=percentages, second=percentages, ids=actor_ids)
def test_the_client_answers_as_core_for_flags_sharing_a_key(
    first: Percentage, second: Percentage, ids: list[str]
) -> None:
    flags = [
        Flag(FIRST, percentage_of_actors=first),
        Flag(SECOND, percentage_of_actors=second, bucket_key=FIRST),
        Flag(
            "by_expression",
            bucket_key=FIRST,
            expression={
                "PercentageOfActors": [{"Property": ["flipper_id"]}, second.value]
            },
        ),
    ]
    with Client(None, None, "production", bootstrap=snapshot_of(flags)) as client:
        for actor_id in ids:
            for flag in flags:
                expected = CORE.is_enabled(flag, [Actor(actor_id)])
                assert client.is_enabled(flag.key, actor_id) is expected
            if first == second:
                both = client.is_enabled(FIRST, actor_id)
                assert client.is_enabled(SECOND, actor_id) is both


def test_a_change_of_bucket_key_alone_re_buckets_the_clients_answers() -> None:
    quarter = Percentage.parse("25")
    flags = [Flag(FIRST, percentage_of_actors=quarter)]
    flags.append(Flag(SECOND, percentage_of_actors=quarter))
    actors = [f"User;{i}" for i in range(2_000)]
    with Client(None, None, "production", bootstrap=snapshot_of(flags)) as client:
        first = [client.is_enabled(FIRST, a) for a in actors]
        assert [client.is_enabled(SECOND, a) for a in actors] != first
        shared = flags[1].with_changes(bucket_key=FIRST)
        change = {"kind": "flag", "key": SECOND, "after": flag_document(shared)}
        event = {"version": 2, "changes": [{**change, "action": "bucket_key"}]}
        client._handle_stream_event("change", json.dumps(event))
        assert [client.is_enabled(SECOND, a) for a in actors] == first
