"""`WindowStore.take`: the server's batch key and every scope's ingest in one
transaction, on SQLite, PostgreSQL and MariaDB. A key counts once, also when
several requests bring it at the same instant; an unknown environment writes
nothing; a failure anywhere leaves no key behind, so the retry counts."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from flagramp.core.events import EventBatch, Exposure, Variant
from flagramp.core.metric_kinds import MetricKind
from flagramp.stats.batch_ingest import BatchIngest, MetricSpec
from flagramp.stats.windows import merge_all
from flagramp.store.event_batches import Claim
from flagramp.store.ingest_scopes import ScopeClosed
from flagramp.store.windows import WindowStore
from tests.conftest import SQL_BACKENDS, migrated_database

NOW = dt.datetime(2026, 1, 1, 12, 0, tzinfo=dt.UTC)
LATER = NOW + dt.timedelta(days=8)
SPECS = (MetricSpec("seen", MetricKind.COUNT, ("exposure",)),)


@pytest.fixture(params=SQL_BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[WindowStore]:
    """On every backend (MariaDB's a copy of the migrated template)."""
    with migrated_database(request, tmp_path) as url:
        store = WindowStore.open(url)
        yield store
        store.engine.dispose()


@pytest.fixture
def sqlite(tmp_path: Path) -> Iterator[WindowStore]:
    """SQLite alone, for what does not depend on the backend's locking."""
    store = WindowStore.open(f"sqlite:///{tmp_path / 'flagramp.db'}")
    yield store
    store.engine.dispose()


def pipe(run: str = "run-1/p/s/1") -> BatchIngest:
    return BatchIngest(run, "f", SPECS, environment="production")


def batch(key: str, *actors: str) -> EventBatch:
    return EventBatch(key, tuple(Exposure(NOW, a, "f", Variant.ON) for a in actors))


def kept_keys(store: WindowStore) -> list[tuple[str, str, int]]:
    with store.engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT environment, batch_key, accepted FROM event_batches "
                "ORDER BY batch_key"
            )
        )
        return [(str(e), str(k), int(n)) for e, k, n in rows]


def exposed(store: WindowStore, run: str = "run-1/p/s/1") -> int:
    windows = store.windows(run, "f")
    return int(merge_all(windows).exposed.total_numerator) if windows else 0


def test_a_key_counts_once_and_commits_with_the_ingest(store: WindowStore) -> None:
    first = store.take(
        "production",
        [pipe()],
        batch("k", "a", "b"),
        received_at=NOW,
        forget_after=LATER,
    )
    again = store.take(
        "production",
        [pipe()],
        batch("k", "a", "b"),
        received_at=NOW,
        forget_after=LATER,
    )
    assert (first.claim, first.duplicate) == (Claim.FRESH, False)
    assert first.counts[0].exposures == 2
    assert (again.claim, again.duplicate, again.counts) == (Claim.DUPLICATE, True, ())
    assert kept_keys(store) == [("production", "k", 2)]
    assert exposed(store) == 2


def test_without_scopes_only_the_key_is_kept(sqlite: WindowStore) -> None:
    taken = sqlite.take(
        "production", [], batch("k", "a"), received_at=NOW, forget_after=LATER
    )
    assert (taken.claim, taken.duplicate) == (Claim.FRESH, False)
    assert kept_keys(sqlite) == [("production", "k", 1)]


def test_an_unknown_environment_writes_nothing(sqlite: WindowStore) -> None:
    taken = sqlite.take(
        "nowhere", [pipe()], batch("k", "a"), received_at=NOW, forget_after=LATER
    )
    assert taken.claim is Claim.NO_ENVIRONMENT
    assert kept_keys(sqlite) == []
    assert exposed(sqlite) == 0


def test_a_failing_scope_leaves_no_key_so_the_retry_counts(sqlite: WindowStore) -> None:
    sqlite.open_scope("run-0/p/s/1", "f", "production")
    sqlite.close_scope("run-0/p/s/1", "f")
    with pytest.raises(ScopeClosed):
        sqlite.take(
            "production",
            [pipe("run-0/p/s/1"), pipe()],
            batch("k", "a"),
            received_at=NOW,
            forget_after=LATER,
        )
    assert kept_keys(sqlite) == []
    assert exposed(sqlite) == 0
    retry = sqlite.take(
        "production", [pipe()], batch("k", "a"), received_at=NOW, forget_after=LATER
    )
    assert retry.claim is Claim.FRESH
    assert exposed(sqlite) == 1


def test_the_same_key_at_the_same_instant_counts_once(store: WindowStore) -> None:
    store.open_scope("run-1/p/s/1", "f", "production")
    writers = 4
    start = threading.Barrier(writers)
    claims: list[Claim] = []
    failures: list[BaseException] = []

    def send() -> None:
        try:
            start.wait(timeout=10)
            taken = store.take(
                "production",
                [pipe()],
                batch("same", "a", "b", "c"),
                received_at=NOW,
                forget_after=LATER,
            )
            claims.append(taken.claim)
        except BaseException as exc:  # reported below, with the others
            failures.append(exc)

    threads = [threading.Thread(target=send) for _ in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert failures == []
    assert sorted(c.value for c in claims) == ["duplicate"] * 3 + ["fresh"]
    assert kept_keys(store) == [("production", "same", 3)]
    assert exposed(store) == 3
