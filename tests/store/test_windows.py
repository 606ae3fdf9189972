"""Stored metric windows on SQLite and PostgreSQL.

Round trip, idempotent batches, exact merges into stored rows, compaction.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from flagramp.core.errors import StoreError
from flagramp.core.events import Event, EventBatch, Exposure, RequestOutcome, Variant
from flagramp.core.metric_kinds import MetricKind
from flagramp.sim.events import minute_batch
from flagramp.sim.scenario import Scenario
from flagramp.stats.ingest import MetricSpec, WindowIngest
from flagramp.stats.windows import DAY, HOUR, Lane, Window, merge_all
from flagramp.store.database import current_revision, head_revision, open_engine
from flagramp.store.windows import WindowStore

T0 = dt.datetime(2026, 11, 23, 10, 0, tzinfo=dt.UTC)
M0 = int(T0.timestamp() // 60)
SPECS = (
    MetricSpec("error_rate", MetricKind.RATIO, ("request_failed", "request")),
    MetricSpec("p95", MetricKind.QUANTILE, ("request",), "latency_ms"),
    MetricSpec("users", MetricKind.UNIQUE_ACTORS, ("request",)),
)


@pytest.fixture
def store(database_url: str) -> Iterator[WindowStore]:
    store = WindowStore.open(database_url)
    yield store
    store.engine.dispose()


def batch_windows(pipe: WindowIngest, batch: EventBatch) -> tuple[Window, ...]:
    """The windows a batch adds: what the ingest side hands the store."""
    pipe.add_batch(batch)
    return pipe.flush()


def events(minute: int, actor: str, failed: int, ok: int) -> list[Event]:
    at = T0 + dt.timedelta(minutes=minute, seconds=1)
    out: list[Event] = [Exposure(at, actor, "f", Variant.ON)]
    out += [RequestOutcome(at, actor, "/x", 500, 50.0, error="E /x")] * failed
    out += [RequestOutcome(at, actor, "/x", 200, 20.0)] * ok
    return out


def totals(windows: tuple[Window, ...]) -> tuple[float, float]:
    sums = merge_all(windows).metrics["error_rate"].sums
    return sums.total_numerator, sums.total_denominator


def test_the_migration_creates_the_window_tables(database_url: str) -> None:
    engine = open_engine(database_url)
    assert current_revision(engine) == head_revision()
    tables = set(sa.inspect(engine).get_table_names())
    assert {"metric_windows", "ingested_batches"} <= tables
    engine.dispose()


def test_windows_round_trip(store: WindowStore) -> None:
    pipe = WindowIngest("run", "f", SPECS)
    scenario = Scenario(requests_per_minute=800, treatment_share=0.5)
    batch = minute_batch(3, scenario, 0, flag="f", start=T0)
    written = batch_windows(pipe, batch)
    assert store.add_batch("run", batch.key, written)
    read = store.windows("run", "f")
    assert len(read) == len(written) == 2
    for a, b in zip(sorted(written, key=lambda w: w.key.lane), read, strict=True):
        assert a.same_as(b)
    assert store.windows("run", "f", lane=Lane.ON)[0].key.lane is Lane.ON
    assert store.windows("run", "other") == ()


def test_a_batch_delivered_twice_counts_once(store: WindowStore) -> None:
    pipe = WindowIngest("run", "f", SPECS)
    first = EventBatch("b1", tuple(events(0, "a", 1, 3)))
    windows = batch_windows(pipe, first)
    assert store.add_batch("run", "b1", windows)
    assert not store.add_batch("run", "b1", windows)
    assert store.has_batch("run", "b1")
    assert not store.has_batch("other-run", "b1")
    assert totals(store.windows("run", "f")) == (1, 4)


def test_batches_merge_exactly_into_stored_rows(store: WindowStore) -> None:
    pipe = WindowIngest("run", "f", SPECS)
    whole = WindowIngest("run", "f", SPECS)
    for i, actor in enumerate("abc"):
        batch = EventBatch(f"b{i}", tuple(events(0, actor, i, 2)))
        whole.add(batch.events)
        assert store.add_batch("run", batch.key, batch_windows(pipe, batch))
    (stored,) = store.windows("run", "f")
    (expected,) = whole.windows()
    assert stored.same_as(expected)
    assert stored.fingerprints["E /x"].actors.estimate() == 2


def test_compaction_keeps_totals_and_replaces_minute_rows(store: WindowStore) -> None:
    pipe = WindowIngest("run", "f", SPECS)
    minutes = [0, 1, 30, 59, 60, 61, 125]
    for i, m in enumerate(minutes):
        batch = EventBatch(f"b{i}", tuple(events(m, f"u{m}", 1, 1)))
        store.add_batch("run", batch.key, batch_windows(pipe, batch))
    before = totals(store.windows("run", "f"))
    hour0 = M0 - M0 % 60
    # Only hours that have ended by minute `before` are compacted.
    assert store.compact("run", "f", HOUR, before=hour0 + 121) == 6
    rows = store.windows("run", "f")
    assert [(w.key.start - hour0, w.key.span) for w in rows] == [
        (0, 60),
        (60, 60),
        (125, 1),
    ]
    assert totals(rows) == before
    assert store.compact("run", "f", HOUR, before=hour0 + 121) == 0
    # A late minute for a compacted hour is merged into that hour's row.
    late = EventBatch("late", tuple(events(2, "late", 1, 0)))
    store.add_batch("run", "late", batch_windows(pipe, late))
    assert store.compact("run", "f", HOUR, before=hour0 + 121) == 1
    assert len(store.windows("run", "f")) == 3
    assert store.compact("run", "f", DAY, before=hour0 + 3 * DAY) == 3
    (day,) = store.windows("run", "f")
    assert totals((day,)) == (before[0] + 1, before[1] + 1)
    users = day.metrics["users"].actors
    assert users is not None and users.estimate() == 8


def test_a_window_of_another_run_is_refused(store: WindowStore) -> None:
    pipe = WindowIngest("other", "f", SPECS)
    windows = batch_windows(pipe, EventBatch("b", tuple(events(0, "a", 0, 1))))
    with pytest.raises(StoreError, match="run"):
        store.add_batch("run", "b", windows)
    assert not store.has_batch("run", "b")


def test_concurrent_writers_to_one_minute_lose_nothing(store: WindowStore) -> None:
    batches = [EventBatch(f"b{i}", tuple(events(0, f"u{i}", 1, 2))) for i in range(12)]
    prepared = []
    for b in batches:
        pipe = WindowIngest("run", "f", SPECS)
        prepared.append((b.key, batch_windows(pipe, b)))
    errors: list[BaseException] = []

    def write(chunk: list[tuple[str, tuple[Window, ...]]]) -> None:
        try:
            for key, windows in chunk:
                store.add_batch("run", key, windows)
                store.add_batch("run", key, windows)  # and a redelivery
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(prepared[i::3],)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors
    assert totals(store.windows("run", "f")) == (12, 36)
