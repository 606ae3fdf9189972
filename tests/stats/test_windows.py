"""Minute windows: what ingest sums, exact merges, compaction and serialisation."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from flagramp.core.errors import StatsError
from flagramp.core.events import (
    BusinessEvent,
    DeviceClass,
    Event,
    EventBatch,
    Exposure,
    RequestOutcome,
    Variant,
)
from flagramp.core.metric_kinds import MetricKind
from flagramp.sim.aggregate import minute_aggregate
from flagramp.sim.events import minute_batch
from flagramp.sim.scenario import Scenario
from flagramp.stats.buckets import bucket_of
from flagramp.stats.ingest import MetricSpec, WindowIngest
from flagramp.stats.windows import (
    DAY,
    HOUR,
    Lane,
    Window,
    compact,
    from_bytes,
    from_record,
    merge_all,
    quantise,
    quantise_one,
    to_bytes,
    to_record,
)

T0 = dt.datetime(2026, 11, 23, 10, 0, tzinfo=dt.UTC)
M0 = int(T0.timestamp() // 60)

SPECS = (
    MetricSpec("error_rate", MetricKind.RATIO, ("request_failed", "request")),
    MetricSpec(
        "inbox_errors",
        MetricKind.RATIO,
        ("request_failed", "request"),
        where=("route == /inbox",),
    ),
    MetricSpec("p95", MetricKind.QUANTILE, ("request",), "latency_ms"),
    MetricSpec("csat", MetricKind.MEAN, ("csat_response",), "score"),
    MetricSpec("calls", MetricKind.COUNT, ("call",), where=("device == mobile",)),
    MetricSpec("senders", MetricKind.SHARE_OF_USERS, ("message_sent",)),
    MetricSpec("users", MetricKind.UNIQUE_ACTORS, ("request",)),
)


def at(minute: int, second: float = 0.0) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minute, seconds=second)


def expose(
    actor: str,
    minute: int = 0,
    variant: Variant = Variant.ON,
    allow_listed: bool = False,
) -> Exposure:
    return Exposure(at(minute), actor, "f", variant, allow_listed=allow_listed)


def req(actor: str, minute: int = 0, status: int = 200, **kw: object) -> RequestOutcome:
    fields: dict[str, object] = {"route": "/inbox", "latency_ms": 100.0}
    fields.update(kw)
    return RequestOutcome(at(minute, 1.0), actor, status=status, **fields)  # type: ignore[arg-type]


def ingest(*events: Event, specs: tuple[MetricSpec, ...] = SPECS) -> WindowIngest:
    pipe = WindowIngest("run", "f", specs)
    pipe.add(list(events))
    return pipe


def window(pipe: WindowIngest, lane: Lane = Lane.ON, minute: int = 0) -> Window:
    (found,) = [
        w for w in pipe.windows() if w.key.lane is lane and w.key.start == M0 + minute
    ]
    return found


def test_ratio_sums_land_in_the_actors_bucket() -> None:
    pipe = ingest(
        expose("a"), expose("b"), req("a"), req("a", status=500), req("b"), req("b")
    )
    sums = window(pipe).metrics["error_rate"].sums
    assert (sums.total_numerator, sums.total_denominator) == (1, 4)
    assert sums.numerator[bucket_of("a")] == 1
    assert sums.denominator[bucket_of("a")] == 2
    assert sums.denominator[bucket_of("b")] == 2


def test_metric_filters_apply_before_aggregation() -> None:
    pipe = ingest(
        expose("a"),
        req("a", status=500),
        req("a", status=500, route="/outbox"),
        req("a", route="/outbox"),
    )
    w = window(pipe)
    assert w.metrics["error_rate"].sums.total_numerator == 2
    assert w.metrics["inbox_errors"].sums.total_numerator == 1
    assert w.metrics["inbox_errors"].sums.total_denominator == 1


def test_exposure_decides_the_lane_and_allow_listed_actors_stay_apart() -> None:
    pipe = ingest(
        expose("t"),
        expose("c", variant=Variant.OFF),
        expose("uat", allow_listed=True),
        req("t"),
        req("c"),
        req("c"),
        req("uat", status=500),
        req("nobody"),
    )
    assert window(pipe, Lane.ON).metrics["error_rate"].sums.total_denominator == 1
    assert window(pipe, Lane.OFF).metrics["error_rate"].sums.total_denominator == 2
    uat = window(pipe, Lane.ALLOW_LISTED)
    assert uat.metrics["error_rate"].sums.total_numerator == 1
    assert not uat.key.lane.is_compared
    assert Lane.ON.is_compared


def test_ingest_counts_unattributed_outcomes_and_other_flags() -> None:
    pipe = WindowIngest("run", "f", SPECS)
    counts = pipe.add(
        [expose("a"), Exposure(at(0), "a", "g", Variant.ON), req("a"), req("zz")]
    )
    assert (counts.exposures, counts.other_flags) == (1, 1)
    assert (counts.outcomes, counts.unattributed) == (1, 1)


def test_the_latest_exposure_wins() -> None:
    pipe = ingest(expose("a"), req("a"))
    pipe.add([expose("a", 1, Variant.OFF), req("a", 1)])
    assert window(pipe, Lane.OFF, 1).metrics["error_rate"].sums.total_denominator == 1
    assert pipe.lane_of("a") is Lane.OFF
    assert pipe.lane_of("nobody") is None


def test_a_batch_delivered_twice_counts_once() -> None:
    pipe = WindowIngest("run", "f", SPECS)
    batch = EventBatch("k1", (expose("a"), req("a"), req("a", status=500)))
    assert not pipe.add_batch(batch).duplicate_batch
    assert pipe.add_batch(batch).duplicate_batch
    assert window(pipe).metrics["error_rate"].sums.total_denominator == 2


def test_users_are_counted_the_first_time_in_the_run_only() -> None:
    message = BusinessEvent(at(0), "a", "message_sent")
    pipe = ingest(expose("a"), expose("b"), message, message, req("a"), req("b"))
    pipe.add([expose("a", 1), BusinessEvent(at(1), "a", "message_sent"), req("a", 1)])
    first, second = window(pipe, minute=0), window(pipe, minute=1)
    assert first.metrics["senders"].sums.total_numerator == 1
    assert first.metrics["senders"].sums.total_denominator == 2
    assert second.metrics["senders"].sums.total_numerator == 0
    assert second.exposed.total_numerator == 0  # not new
    assert second.exposed.total_denominator == 1  # one exposure event
    total = merge_all([first, second])
    assert total.metrics["users"].sums.total_numerator == 2
    assert total.metrics["users"].actors is not None
    assert total.metrics["users"].actors.estimate() == 2


def test_means_counts_and_quantiles_use_values_and_filters() -> None:
    pipe = ingest(
        expose("a"),
        BusinessEvent(at(0), "a", "csat_response", attributes=(("score", 4),)),
        BusinessEvent(at(0), "a", "csat_response", value=2.0),
        BusinessEvent(at(0), "a", "csat_response"),
        BusinessEvent(at(0), "a", "call", device=DeviceClass.MOBILE),
        BusinessEvent(at(0), "a", "call", device=DeviceClass.DESKTOP),
        *(req("a", latency_ms=float(ms)) for ms in range(1, 101)),
    )
    w = window(pipe)
    csat = w.metrics["csat"].sums
    assert (csat.total_numerator, csat.total_denominator) == (6, 2)
    assert w.metrics["calls"].sums.total_numerator == 1
    sketch = w.metrics["p95"].sketch
    assert sketch is not None
    assert sketch.quantile(0.95) == pytest.approx(95, rel=0.01)


def test_breakdown_groups_by_route_status_class_and_device() -> None:
    pipe = ingest(
        expose("a"),
        req("a"),
        req("a", status=201),
        req("a", status=503),
        req("a", status=404, route="/x"),
    )
    cells = window(pipe).breakdown
    assert cells[("request", "/inbox", "2xx", "other")].count == 2
    assert cells[("request", "/inbox", "5xx", "other")].failed == 1
    assert cells[("request", "/x", "4xx", "other")].failed == 0
    assert cells[("request", "/inbox", "2xx", "other")].value_sum == 200.0


def test_fingerprints_count_distinct_users_and_keep_earliest_redacted_samples() -> None:
    events: list[Event] = [expose("a"), expose("b")]
    for i in range(50):
        events.append(
            RequestOutcome(at(0, 59 - i), "a", "/x", 500, 10.0, error="Boom /x")
        )
    events.append(RequestOutcome(at(0, 30.5), "b", "/x", 500, 10.0, error="Boom /x"))
    pipe = WindowIngest("run", "f", SPECS, samples=3)
    pipe.add(events)
    fp = window(pipe).fingerprints["Boom /x"]
    assert fp.count == 51
    assert fp.actors.estimate() == 2
    assert fp.first_seen == at(0, 10).timestamp()
    assert [s.at for s in fp.samples] == [at(0, s).timestamp() for s in (10, 11, 12)]
    assert all(s.actor_tag != "a" and len(s.actor_tag) == 8 for s in fp.samples)


def test_windows_from_the_simulator_match_its_aggregates() -> None:
    scenario = Scenario(requests_per_minute=3000, treatment_share=0.3, icc=0.1)
    pipe = WindowIngest("run", "f", SPECS)
    for minute in range(3):
        pipe.add_batch(minute_batch(5, scenario, minute, flag="f", start=T0))
    for minute in range(3):
        agg = minute_aggregate(5, scenario, minute)
        for arm, lane in ((0, Lane.OFF), (1, Lane.ON)):
            w = window(pipe, lane, minute)
            sums = w.metrics["error_rate"].sums
            assert sums.total_numerator == agg.errors[0, arm].sum()
            assert sums.total_denominator == agg.requests[0, arm].sum()
            assert w.exposed.total_numerator == agg.users[0, arm]


def test_windows_round_trip_through_records_and_bytes() -> None:
    scenario = Scenario(requests_per_minute=500, treatment_share=0.5)
    pipe = WindowIngest("run", "f", SPECS)
    pipe.add_batch(minute_batch(1, scenario, 0, flag="f", start=T0))
    pipe.add([BusinessEvent(at(0), "sim-1-0-0", "message_sent")])
    for w in pipe.windows():
        assert from_bytes(to_bytes(w)).same_as(w)
        assert from_record(to_record(w)).same_as(w)


@pytest.mark.parametrize(
    "data", [b"", b"not zlib", __import__("zlib").compress(b'{"format": 99}')]
)
def test_damaged_window_bytes_raise_stats_error(data: bytes) -> None:
    with pytest.raises(StatsError):
        from_bytes(data)


def test_compaction_merges_minutes_into_aligned_hours_and_days() -> None:
    pipe = WindowIngest("run", "f", SPECS)
    for minute in (0, 1, 59, 60, 61):
        pipe.add([expose(f"u{minute}", minute), req(f"u{minute}", minute, status=500)])
    minutes = pipe.flush()
    hours = compact(minutes, HOUR)
    start = M0 - M0 % 60
    assert [(h.key.start, h.key.end) for h in hours] == [
        (start, start + 60),
        (start + 60, start + 120),
    ]
    assert [h.metrics["error_rate"].sums.total_numerator for h in hours] == [3, 2]
    (day,) = compact(hours, DAY)
    assert day.same_as(compact(minutes, DAY)[0])
    assert day.metrics["users"].actors is not None
    assert day.metrics["users"].actors.estimate() == 5
    with pytest.raises(StatsError, match="does not fit"):
        compact([day], HOUR)
    assert pipe.windows() == ()


def test_windows_of_different_lanes_do_not_merge() -> None:
    pipe = ingest(expose("a"), expose("b", variant=Variant.OFF))
    on, off = window(pipe, Lane.ON), window(pipe, Lane.OFF)
    with pytest.raises(StatsError, match="cannot merge"):
        on.merge(off)
    with pytest.raises(StatsError):
        merge_all([])


@pytest.mark.parametrize(
    ("specs", "message"),
    [
        ((SPECS[0], SPECS[0]), "unique"),
        ((MetricSpec("m", MetricKind.MEAN, ("x",)),), "needs a value"),
    ],
)
def test_bad_metric_specs_are_refused(
    specs: tuple[MetricSpec, ...], message: str
) -> None:
    with pytest.raises(StatsError, match=message):
        WindowIngest("run", "f", specs)


def test_an_empty_window_has_zero_sums() -> None:
    pipe = ingest(expose("a"))
    w = window(pipe)
    assert not np.any(w.metrics["error_rate"].sums.denominator)
    p95 = w.metrics["p95"].sketch
    assert p95 is not None and p95.count == 0


def test_values_come_from_request_fields_or_business_attributes() -> None:
    specs = (
        MetricSpec("status", MetricKind.MEAN, ("request",), "status"),
        MetricSpec("visit_wait", MetricKind.MEAN, ("visit",), "latency_ms"),
    )
    pipe = ingest(
        expose("a"),
        req("a", status=200),
        req("a", status=503),
        BusinessEvent(at(0), "a", "visit", attributes=(("latency_ms", 7),)),
        BusinessEvent(at(0), "a", "visit", value=3.0),
        BusinessEvent(at(0), "a", "visit", attributes=(("latency_ms", "slow"),)),
        specs=specs,
    )
    w = window(pipe)
    status = w.metrics["status"].sums
    assert (status.total_numerator, status.total_denominator) == (703, 2)
    visit = w.metrics["visit_wait"].sums
    assert (visit.total_numerator, visit.total_denominator) == (10, 2)
    assert w.breakdown[("visit", "", "", "other")].count == 3


@pytest.mark.parametrize(
    "value", [0.0, 1 / 2048, 3 / 2048, -5 / 2048, 12.3456789, 86_400_000.0, 1e9]
)
def test_one_value_is_quantised_as_an_array_is(value: float) -> None:
    assert quantise_one(value) == float(quantise([value])[0])
