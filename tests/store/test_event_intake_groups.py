"""`WindowStore.take_many`: many requests' batches in one transaction, each as
if taken alone and in order, on SQLite, PostgreSQL and MariaDB."""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flagramp.core.events import EventBatch, Exposure, RequestOutcome, Variant
from flagramp.core.metric_kinds import MetricKind
from flagramp.stats.batch_ingest import BatchIngest, MetricSpec
from flagramp.store.database import begin_write
from flagramp.store.event_batches import Claim
from flagramp.store.ingest_scopes import ScopeClosed
from flagramp.store.windows import BatchToTake, WindowStore
from tests.conftest import SQL_BACKENDS, migrated_database

NOW = dt.datetime(2026, 1, 1, 12, 0, tzinfo=dt.UTC)
LATER = NOW + dt.timedelta(days=8)
SPECS = (
    MetricSpec("seen", MetricKind.COUNT, ("exposure",)),
    MetricSpec("error_rate", MetricKind.RATIO, ("request_failed", "request")),
    MetricSpec("failing_users", MetricKind.SHARE_OF_USERS, ("request_failed",)),
)
RUNS = ("run-1/p/s/1", "run-2/p/s/1")


@pytest.fixture(params=SQL_BACKENDS)
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with migrated_database(request, tmp_path) as url:
        yield url


def pipes() -> tuple[BatchIngest, ...]:
    return tuple(BatchIngest(run, "f", SPECS, environment="production") for run in RUNS)


def batch(key: str, *actors: str, status: int = 200) -> EventBatch:
    events: list[Exposure | RequestOutcome] = []
    for a in actors:
        events.append(Exposure(NOW, a, "f", Variant.ON if a < "m" else Variant.OFF))
        events.append(RequestOutcome(NOW, a, "/claims", status, 80.0))
    return EventBatch(key, tuple(events))


def one(key: str, *actors: str, env: str = "production", **kw: int) -> BatchToTake:
    return BatchToTake(env, pipes(), batch(key, *actors, **kw), NOW, LATER)


def stored(store: WindowStore) -> dict[str, object]:
    """Everything a take writes: keys, scope states, window bytes."""
    with store.engine.connect() as conn:
        keys = conn.execute(
            sa.text("SELECT environment, batch_key, accepted FROM event_batches")
        ).all()
        rows = conn.execute(
            sa.text(
                "SELECT run, flag, lane, start_minute, end_minute, data "
                "FROM metric_windows"
            )
        ).all()
    states = {run: store.scope_state(run, "f") for run in RUNS}
    return {
        "keys": sorted(tuple(k) for k in keys),
        "windows": sorted((r[0], r[1], r[2], r[3], r[4], bytes(r[5])) for r in rows),
        "actors": {run: s.actors if s else None for run, s in states.items()},
        "scope_keys": {
            run: sorted(s.batch_keys) if s else None for run, s in states.items()
        },
    }


def test_a_group_writes_what_the_same_takes_one_by_one_write(
    url: str, tmp_path: Path
) -> None:
    group = [
        one("k1", "ann", "bob"),
        one("k1", "ann", "zed"),  # the same key again: a duplicate
        one("k2", "ann", env="nowhere"),  # no such environment
        one("k3", "bob", "zed", "carl", status=500),
        one("k4", "ann"),
    ]
    grouped = WindowStore.open(url)
    claims = [t.claim for t in grouped.take_many(group)]
    assert claims == [
        Claim.FRESH,
        Claim.DUPLICATE,
        Claim.NO_ENVIRONMENT,
        Claim.FRESH,
        Claim.FRESH,
    ]
    after_group = stored(grouped)
    grouped.engine.dispose()

    alone = WindowStore.open(f"sqlite:///{tmp_path / 'alone.db'}")
    for item in group:
        alone.take(
            item.environment,
            item.pipes,
            item.batch,
            received_at=item.received_at,
            forget_after=item.forget_after,
        )
    assert stored(alone) == after_group
    assert len(after_group["keys"]) == 3  # type: ignore[arg-type]
    alone.engine.dispose()


def test_a_failure_in_one_batch_writes_nothing_of_any(url: str) -> None:
    store = WindowStore.open(url)
    store.take_many([one("first", "ann")])
    before = stored(store)
    with begin_write(store.engine) as conn:
        conn.execute(
            sa.text("UPDATE ingest_scopes SET closed = true WHERE run = :r"),
            {"r": RUNS[1]},
        )
    with pytest.raises(ScopeClosed):
        store.take_many([one("k5", "bob"), one("k6", "carl")])
    assert stored(store)["keys"] == before["keys"]
    store.engine.dispose()


def test_groups_racing_with_the_same_keys_count_each_key_once(url: str) -> None:
    store = WindowStore.open(url)
    store.take_many([one("warm", "ann")])  # the scopes exist before the race
    writers = 4
    start = threading.Barrier(writers)
    claims: list[Claim] = []
    failures: list[BaseException] = []

    def send(number: int) -> None:
        # Each group holds the shared keys in a different order.
        keys = [f"shared-{(i + number) % 3}" for i in range(3)] + [f"own-{number}"]
        try:
            start.wait(timeout=10)
            claims.extend(
                t.claim for t in store.take_many([one(k, "bob") for k in keys])
            )
        except BaseException as exc:  # reported below, with the others
            failures.append(exc)

    threads = [threading.Thread(target=send, args=(n,)) for n in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert failures == []
    assert claims.count(Claim.FRESH) == 3 + writers
    assert claims.count(Claim.DUPLICATE) == 3 * (writers - 1)
    state = store.scope_state(RUNS[0], "f")
    assert state is not None and len(state.batch_keys) == 1 + 3 + writers
    store.engine.dispose()


ACTORS = st.sampled_from(["ann", "bob", "carl", "dora", "zed", "yan"])


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    group=st.lists(
        st.tuples(
            st.sampled_from(["k1", "k2", "k3", "k4", "k5"]),
            st.lists(ACTORS, min_size=1, max_size=4),
            st.sampled_from([200, 500]),
            st.integers(min_value=0, max_value=3),  # minutes after NOW
        ),
        min_size=1,
        max_size=8,
    )
)
def test_any_group_writes_what_one_by_one_writes(
    tmp_path_factory: pytest.TempPathFactory,
    group: list[tuple[str, list[str], int, int]],
) -> None:
    folder = tmp_path_factory.mktemp("groups")
    items = []
    for key, actors, status, minute in group:
        at = NOW + dt.timedelta(minutes=minute)
        events = batch(key, *actors, status=status).events
        moved = tuple(dataclasses.replace(e, at=at) for e in events)
        items.append(
            BatchToTake("production", pipes(), EventBatch(key, moved), at, LATER)
        )
    grouped = WindowStore.open(f"sqlite:///{folder / 'grouped.db'}")
    alone = WindowStore.open(f"sqlite:///{folder / 'alone.db'}")
    # A batch before the group: some of its rows and actors exist already.
    for store in (grouped, alone):
        store.take_many([one("before", "ann", "zed", status=500)])
    together = grouped.take_many(items)
    apart = [alone.take_many([item])[0] for item in items]
    assert together == apart
    assert stored(grouped) == stored(alone)
    grouped.engine.dispose()
    alone.engine.dispose()


def test_claims_beyond_one_statement_keep_their_order_and_repeats(url: str) -> None:
    store = WindowStore.open(url)
    keys = [f"key-{i}" for i in range(450)]
    keys[300] = keys[10]  # a repeat in another chunk of the claim
    group = [BatchToTake("production", (), batch(k, "ann"), NOW, LATER) for k in keys]
    group[7] = BatchToTake("nowhere", (), batch("key-7", "ann"), NOW, LATER)
    claims = [t.claim for t in store.take_many(group)]
    expected = [Claim.FRESH] * 450
    expected[300] = Claim.DUPLICATE
    expected[7] = Claim.NO_ENVIRONMENT
    assert claims == expected
    assert len(stored(store)["keys"]) == 448  # type: ignore[arg-type]
    store.engine.dispose()
