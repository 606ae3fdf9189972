"""The pushed source: raw batches in, bad events rejected, windows and totals out."""

from __future__ import annotations

import datetime as dt

import pytest

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
from flagramp.stats.ingest import MetricSpec, WindowIngest

T0 = dt.datetime(2026, 11, 23, 10, 0, tzinfo=dt.UTC)


def pushed() -> PushedSource:
    spec = MetricSpec("error_rate", MetricKind.RATIO, ("request_failed", "request"))
    return PushedSource(WindowIngest("run", "f", [spec]))


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
