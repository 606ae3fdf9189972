"""The pushed source: raw batches in, bad events rejected, windows and totals out."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest

from flagramp.core.clock import VirtualClock
from flagramp.core.events import EventBatch, Exposure, Variant
from flagramp.core.metric_kinds import MetricKind
from flagramp.sources import (
    FakeSource,
    MetricQuery,
    MetricSource,
    Point,
    PushedSource,
    Reading,
    UnknownMetric,
)
from flagramp.stats.ingest import BatchIngest, MetricSpec, WindowIngest
from flagramp.store.stored_ingest import StoredIngest
from flagramp.store.windows import WindowStore

T0 = dt.datetime(2026, 11, 23, 10, 0, tzinfo=dt.UTC)
SPEC = MetricSpec("error_rate", MetricKind.RATIO, ("request_failed", "request"))


def pushed() -> PushedSource:
    return PushedSource(WindowIngest("run", "f", [SPEC]))


@pytest.fixture
def store(database_url: str) -> Iterator[WindowStore]:
    store = WindowStore.open(database_url)
    yield store
    store.engine.dispose()


def raw(minute: int, actor: str, status: int = 200) -> dict[str, object]:
    return {
        "type": "request",
        "at": (T0 + dt.timedelta(minutes=minute, seconds=5)).isoformat(),
        "actor": actor,
        "route": "/inbox",
        "status": status,
        "latency_ms": 20,
    }


def exposure(actor: str, variant: str) -> dict[str, object]:
    return {
        "type": "exposure",
        "at": T0.isoformat(),
        "actor": actor,
        "flag": "f",
        "variant": variant,
    }


def test_raw_batches_keep_good_events_and_count_a_redelivery_once() -> None:
    src = pushed()
    batch = [
        exposure("a", "on"),
        exposure("b", "off"),
        raw(0, "a", 500),
        {"type": "request", "actor": "a"},
        raw(0, "b"),
        raw(1, "a"),
    ]
    first = src.push_raw(batch, key="batch-1")
    assert [r.index for r in first.rejected] == [3]
    assert first.counts.outcomes == 3
    assert not first.duplicate
    again = src.push_raw(batch, key="batch-1")
    assert again.duplicate
    reading = src.read(MetricQuery("error_rate", T0, T0 + dt.timedelta(minutes=5)))
    assert reading.per_user
    assert reading.totals("on") == (1.0, 2.0)
    assert reading.totals("off") == (0.0, 1.0)
    assert len(reading.windows) == 3
    assert [p.at for p in reading.series("on")] == [
        T0 + dt.timedelta(minutes=1),
        T0 + dt.timedelta(minutes=2),
    ]


def test_reads_cover_only_the_minutes_asked_for() -> None:
    src = pushed()
    src.push_raw([exposure("a", "on"), raw(0, "a"), raw(3, "a")])
    reading = src.read(
        MetricQuery(
            "error_rate", T0 + dt.timedelta(minutes=1), T0 + dt.timedelta(minutes=5)
        )
    )
    assert reading.totals("on") == (0.0, 1.0)


def test_an_unknown_metric_is_refused() -> None:
    with pytest.raises(UnknownMetric):
        pushed().read(MetricQuery("csat", T0, T0))


def test_sources_share_one_port_and_a_fake_answers_from_its_handler() -> None:
    def handler(query: MetricQuery) -> Reading:
        return Reading(
            "fake", query.metric, (Point(query.end, "on", 1.0, 10.0),), False
        )

    sources: list[MetricSource] = [FakeSource(handler), pushed()]
    query = MetricQuery("error_rate", T0, T0 + dt.timedelta(minutes=1))
    assert sources[0].read(query).totals("on") == (1.0, 10.0)
    assert sources[1].read(query).points == ()


def test_a_source_on_the_store_reads_the_same_after_a_restart(
    store: WindowStore,
) -> None:
    clock = VirtualClock(T0 + dt.timedelta(minutes=3))

    def source() -> PushedSource:
        # A new process: a fresh ingest, the store holds the rest.
        target = StoredIngest(store, BatchIngest("run/p1/s1/a1", "f", [SPEC]), clock)
        return PushedSource(target, clock)

    first = source().push_raw(
        [exposure("a", "on"), raw(0, "a", 500), {"type": "request"}], key="b1"
    )
    assert [r.code for r in first.rejected] == ["bad_status"]
    again = source()
    assert again.push_raw([exposure("a", "on"), raw(0, "a", 500)], key="b1").duplicate
    again.push_raw([exposure("b", "off"), raw(1, "a"), raw(1, "b")], key="b2")
    query = MetricQuery("error_rate", T0, T0 + dt.timedelta(minutes=5))
    reading = source().read(query)
    assert reading.totals("on") == (1.0, 2.0)
    assert reading.totals("off") == (0.0, 1.0)
    state = store.scope_state("run/p1/s1/a1", "f")
    assert state is not None and len(state.actors) == 2


def test_the_sources_clock_rejects_events_too_old_or_ahead() -> None:
    clock = VirtualClock(T0 + dt.timedelta(hours=2))
    src = PushedSource(WindowIngest("run", "f", [SPEC]), clock)
    result = src.push_raw([exposure("a", "on"), raw(0, "a")])
    assert [r.code for r in result.rejected] == ["too_old", "too_old"]
    late = src.push_raw([exposure("a", "on")], received_at=T0 - dt.timedelta(hours=1))
    assert [r.code for r in late.rejected] == ["future"]
    built = src.push(EventBatch("k", (Exposure(T0, "a", "f", Variant.ON),)))
    assert built.counts.out_of_window == 1
