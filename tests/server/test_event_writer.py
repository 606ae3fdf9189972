"""`GroupedIntake`: concurrent requests' batches in few transactions, each
answered with its own result only after its group was taken; a failing group
fails each of its requests; a sender whose token is no longer usable writes
nothing. And `TokenCache`, which lets the route skip reading a token the
writer checks again."""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
import time
from collections.abc import Collection, Sequence

import pytest

from flagramp.core.errors import StoreError
from flagramp.core.events import EventBatch, Exposure, Variant
from flagramp.server.event_intake import GroupedIntake, SentBatch, TokenRevoked
from flagramp.server.ports import KeyedBatch, TakenBatch
from flagramp.server.token_cache import TokenCache, UsableSenders
from flagramp.store.tokens import OwnerKind, Permission, TokenRecord
from tests.server.conftest import SETUP, Api

NOW = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


class SlowIntake:
    """Takes a group after a pause, answering each batch with its size."""

    def __init__(self, pause: float = 0.05, fail: bool = False) -> None:
        self.pause, self.fail = pause, fail
        self.groups: list[list[str]] = []
        self.lock = threading.Lock()

    def take(
        self,
        environment: str,
        batch: EventBatch,
        *,
        received_at: dt.datetime,
        forget_after: dt.datetime,
    ) -> TakenBatch:
        raise AssertionError("the writer takes groups")

    def take_many(self, batches: Sequence[KeyedBatch]) -> list[TakenBatch]:
        time.sleep(self.pause)
        with self.lock:
            self.groups.append([b.batch.key for b in batches])
        if self.fail:
            raise StoreError("nothing was written: the database is gone")
        return [TakenBatch(unwatched=len(b.batch.events)) for b in batches]


def sent(key: str, events: int = 1, token: str | None = "t1") -> SentBatch:
    batch = EventBatch(
        key, tuple(Exposure(NOW, f"u{i}", "f", Variant.ON) for i in range(events))
    )
    return SentBatch(KeyedBatch("production", batch, NOW, NOW), token)


def everyone(ids: Collection[str]) -> Collection[str]:
    return ids


async def take_all(writer: GroupedIntake, batches: list[SentBatch]) -> list[object]:
    return list(
        await asyncio.gather(*(writer.take(b) for b in batches), return_exceptions=True)
    )


def test_concurrent_batches_share_transactions_and_get_their_own_answers() -> None:
    intake = SlowIntake()
    writer = GroupedIntake(intake, everyone)
    batches = [sent(f"k{i}", events=i + 1) for i in range(40)]
    answers = asyncio.run(take_all(writer, batches))
    writer.close()
    assert answers == [TakenBatch(unwatched=i + 1) for i in range(40)]
    assert len(intake.groups) < 40  # grouped, not one transaction each
    taken = [key for group in intake.groups for key in group]
    assert taken == [f"k{i}" for i in range(40)]  # once each, in order


def test_a_group_is_at_most_max_group_batches() -> None:
    intake = SlowIntake()
    writer = GroupedIntake(intake, everyone, max_group=8)
    asyncio.run(take_all(writer, [sent(f"k{i}") for i in range(30)]))
    writer.close()
    assert max(len(g) for g in intake.groups) <= 8


def test_a_failing_group_fails_each_request_and_the_writer_goes_on() -> None:
    intake = SlowIntake(fail=True)
    writer = GroupedIntake(intake, everyone)
    answers = asyncio.run(take_all(writer, [sent(f"k{i}") for i in range(5)]))
    assert all(isinstance(a, StoreError) for a in answers)
    intake.fail = False
    assert asyncio.run(take_all(writer, [sent("after")])) == [TakenBatch(unwatched=1)]
    writer.close()


def test_a_sender_whose_token_is_no_longer_usable_writes_nothing() -> None:
    intake = SlowIntake(pause=0)
    asked: list[set[str]] = []

    def usable(ids: Collection[str]) -> Collection[str]:
        asked.append(set(ids))
        return {"good"}

    writer = GroupedIntake(intake, usable)
    answers = asyncio.run(
        take_all(writer, [sent("a", token="good"), sent("b", token="gone")])
    )
    writer.close()
    assert answers[0] == TakenBatch(unwatched=1)
    assert isinstance(answers[1], TokenRevoked)
    assert [key for g in intake.groups for key in g] == ["a"]
    assert all(ids <= {"good", "gone"} for ids in asked)


def test_close_lets_the_queued_batches_finish() -> None:
    intake = SlowIntake(pause=0.02)
    writer = GroupedIntake(intake, everyone)
    futures = [writer.submit(sent(f"k{i}")) for i in range(10)]
    writer.close()
    assert [f.result(timeout=5) for f in futures] == [TakenBatch(unwatched=1)] * 10


def record(token_id: str) -> TokenRecord:
    return TokenRecord(
        token_id, "app", OwnerKind.SERVICE, Permission.SDK, "production", "", "", ""
    )


def test_the_token_cache_forgets_after_its_time_and_keeps_a_bounded_number() -> None:
    now = [0.0]
    cache = TokenCache(ttl=30, size=2, clock=lambda: now[0])
    cache.put("frp_a_secret", record("a"))
    assert cache.get("frp_a_secret") == record("a")
    assert cache.get("frp_a_other") is None
    now[0] = 31
    assert cache.get("frp_a_secret") is None
    for name in "bcd":
        cache.put(f"frp_{name}_s", record(name))
    assert [cache.get(f"frp_{n}_s") for n in "bcd"] == [None, record("c"), record("d")]


def test_a_token_revoked_after_the_route_trusted_it_sends_nothing(api: Api) -> None:
    state = api.app.state.flagramp
    body = {
        "batch_key": "before",
        "events": [
            {
                "type": "exposure",
                "at": "2026-01-01T00:00:00Z",
                "actor": "u",
                "flag": "f",
                "variant": "on",
            }
        ],
    }
    first = api.client.post("/api/v1/events", json=body, headers=api.headers("sdk"))
    assert first.status_code == 200
    token = api.tokens["sdk"]
    record = state.token_cache.get(token)
    assert record is not None  # trusted for the next requests
    state.tokens.revoke(record.id, SETUP)
    body["batch_key"] = "after"
    second = api.client.post("/api/v1/events", json=body, headers=api.headers("sdk"))
    assert (second.status_code, second.json()["code"]) == (401, "unauthorized")
    assert not state.batch_keys.seen("production", "after")
    assert state.batch_keys.seen("production", "before")


@pytest.mark.parametrize("who", ["revoked", "sdk_staging"])
def test_the_cache_never_admits_a_token_the_route_would_refuse(
    api: Api, who: str
) -> None:
    body = {"environment": "production", "events": []}
    for _ in range(2):
        answer = api.client.post("/api/v1/events", json=body, headers=api.headers(who))
        assert answer.status_code in (401, 403)


def test_an_idle_writer_ends_and_the_next_batch_starts_another() -> None:
    intake = SlowIntake(pause=0)
    writer = GroupedIntake(intake, everyone, idle_seconds=0.05)
    assert writer.submit(sent("a")).result(timeout=5) == TakenBatch(unwatched=1)
    deadline = time.monotonic() + 5
    while writer._thread is not None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert writer._thread is None  # ended on its own
    assert writer.submit(sent("b")).result(timeout=5) == TakenBatch(unwatched=1)
    writer.close()
    assert [key for g in intake.groups for key in g] == ["a", "b"]


class CountingTokens:
    """A `TokenStore` stand-in: tokens by id with their expiry, reads counted."""

    def __init__(self) -> None:
        self.unrevoked_ids: dict[str, dt.datetime | None] = {
            "t1": None,
            "t2": NOW + dt.timedelta(minutes=5),
        }
        self.reads = 0
        self.clock = NOW

    def unrevoked(self, token_ids: Collection[str]) -> dict[str, dt.datetime | None]:
        self.reads += 1
        return {i: e for i, e in self.unrevoked_ids.items() if i in token_ids}

    def now(self) -> dt.datetime:
        return self.clock


def test_senders_are_read_again_only_when_the_store_version_moves() -> None:
    tokens = CountingTokens()
    version = [1]
    check = UsableSenders(tokens, lambda: version[0])  # type: ignore[arg-type]
    assert check({"t1", "t2", "nobody"}) == {"t1", "t2"}
    assert check({"t1", "t2", "nobody"}) == {"t1", "t2"}
    assert tokens.reads == 1  # the second group read nothing
    tokens.clock = NOW + dt.timedelta(minutes=6)
    assert check({"t1", "t2"}) == {"t1"}  # expiry needs no read
    assert tokens.reads == 1
    del tokens.unrevoked_ids["t1"]  # revoked: a unit of work moves the version
    version[0] = 2
    assert check({"t1"}) == set()
    assert tokens.reads == 2
