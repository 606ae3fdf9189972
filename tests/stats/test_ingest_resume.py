"""Exact resume: a scope's state carried over a restart gives the windows of a run
that never stopped; a batch lands whole or not at all."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Collection, Mapping, Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flagramp.core.errors import StatsError
from flagramp.core.events import (
    BusinessEvent,
    Event,
    EventBatch,
    Exposure,
    RequestOutcome,
    Variant,
)
from flagramp.core.metric_kinds import MetricKind
from flagramp.stats.ingest import (
    ActorState,
    BatchIngest,
    MarkLayout,
    MetricSpec,
    ScopeSnapshot,
    WindowIngest,
)
from flagramp.stats.scope_state import EXPOSED, MAX_MARKS
from flagramp.stats.windows import Lane, Window, merge_all

T0 = dt.datetime(2026, 11, 23, 10, 0, tzinfo=dt.UTC)
NOW = T0 + dt.timedelta(minutes=10)
M0 = int(T0.timestamp() // 60)
SPECS = (
    MetricSpec("error_rate", MetricKind.RATIO, ("request_failed", "request")),
    MetricSpec("failing_users", MetricKind.SHARE_OF_USERS, ("request_failed",)),
    MetricSpec("users", MetricKind.UNIQUE_ACTORS, ("request",)),
    MetricSpec("senders", MetricKind.SHARE_OF_USERS, ("message_sent",)),
    MetricSpec("calls", MetricKind.COUNT, ("call",)),
    MetricSpec("p90", MetricKind.QUANTILE, ("request",), "latency_ms"),
    MetricSpec("csat", MetricKind.MEAN, ("csat_response",), "score"),
)
RUN = "run/p1/s1/a1"


def at(minute: int, second: float = 0.0) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minute, seconds=second)


def new_ingest(state: ScopeSnapshot | None = None) -> WindowIngest:
    # Small caps, so that examples reach them.
    return WindowIngest(
        RUN, "f", SPECS, exact_cap=3, fingerprint_cap=2, breakdown_cap=3, state=state
    )


def new_batch_ingest() -> BatchIngest:
    return BatchIngest(RUN, "f", SPECS, exact_cap=3, fingerprint_cap=2, breakdown_cap=3)


def test_an_actor_exposed_before_and_after_a_restart_counts_once() -> None:
    """The issue's case: exposures at minutes 0 and 1, a restart between."""
    first = new_ingest()
    first.add_batch(
        EventBatch(
            "b0",
            (
                Exposure(at(0), "a", "f", Variant.ON),
                RequestOutcome(at(0, 1), "a", "/x", 500, 10.0),
            ),
        )
    )
    before = first.flush()
    second = new_ingest(first.snapshot())
    second.add_batch(
        EventBatch(
            "b1",
            (
                Exposure(at(1), "a", "f", Variant.ON),
                RequestOutcome(at(1, 1), "a", "/x", 500, 10.0),
            ),
        )
    )
    total = merge_all(before + second.flush())
    assert total.exposed.total_numerator == 1
    assert total.exposed.total_denominator == 2
    assert total.metrics["failing_users"].sums.total_numerator == 1
    assert total.metrics["error_rate"].sums.total_numerator == 2
    # Without the state, the same actor is new again: what the issue saw.
    fresh = new_ingest()
    fresh.add_batch(EventBatch("b1", (Exposure(at(1), "a", "f", Variant.ON),)))
    assert fresh.flush()[0].exposed.total_numerator == 1


ACTORS = [f"u{i}" for i in range(6)]


def _exposure(actor: str, minute: int, second: float, on: bool, uat: bool) -> Event:
    variant = Variant.ON if on else Variant.OFF
    return Exposure(at(minute, second), actor, "f", variant, allow_listed=uat)


def _request(actor: str, minute: int, second: float, status: int, fp: int) -> Event:
    error = f"E{fp} /x" if status >= 500 else None
    route = "/a" if fp % 2 else "/b"
    return RequestOutcome(
        at(minute, second), actor, route, status, 5.0 * fp, error=error
    )


def _business(actor: str, minute: int, second: float, kind: int) -> Event:
    if kind == 0:
        return BusinessEvent(at(minute, second), actor, "message_sent")
    if kind == 1:
        return BusinessEvent(at(minute, second), actor, "call")
    return BusinessEvent(
        at(minute, second), actor, "csat_response", attributes=(("score", kind),)
    )


_actor = st.sampled_from(ACTORS)
_minute = st.integers(0, 3)
_second = st.floats(0, 59.5)
events = st.one_of(
    st.builds(_exposure, _actor, _minute, _second, st.booleans(), st.booleans()),
    st.builds(
        _request,
        _actor,
        _minute,
        _second,
        st.sampled_from([200, 200, 404, 500, 503]),
        st.integers(0, 5),
    ),
    st.builds(_business, _actor, _minute, _second, st.integers(0, 5)),
    st.builds(
        lambda a, m: Exposure(at(m), a, "other_flag", Variant.ON), _actor, _minute
    ),
)
batches = st.lists(st.lists(events, max_size=14), min_size=1, max_size=8).map(
    lambda parts: [EventBatch(f"b{i}", tuple(p)) for i, p in enumerate(parts)]
)


def by_key(windows: Sequence[Window]) -> dict[tuple[int, Lane], Window]:
    out: dict[tuple[int, Lane], Window] = {}
    for w in windows:
        k = (w.key.start, w.key.lane)
        out[k] = w if k not in out else out[k].merge(w)
    return out


def assert_same_windows(got: Sequence[Window], expected: Sequence[Window]) -> None:
    a, b = by_key(got), by_key(expected)
    assert a.keys() == b.keys()
    for k, w in b.items():
        assert a[k].same_as(w), k


@settings(max_examples=150, deadline=None)
@given(batches, st.lists(st.booleans(), min_size=8, max_size=8))
def test_restarts_at_any_batch_give_the_windows_of_an_uninterrupted_run(
    plan: list[EventBatch], restarts: list[bool]
) -> None:
    whole = new_ingest()
    for batch in plan:
        whole.add_batch(batch, received_at=NOW)
    collected: list[Window] = []
    pipe = new_ingest()
    for batch, restart in zip(plan, restarts, strict=False):
        pipe.add_batch(batch, received_at=NOW)
        collected += pipe.flush()
        if restart:
            # What a process killed after this batch leaves: its state, saved as
            # JSON; the sender redelivers the batch whose answer it never saw.
            saved = json.loads(json.dumps(pipe.snapshot().to_record()))
            pipe = new_ingest(ScopeSnapshot.from_record(saved))
            assert pipe.add_batch(batch, received_at=NOW).duplicate_batch
    assert_same_windows(collected, whole.windows())
    assert pipe.snapshot() == whole.snapshot()


@settings(max_examples=100, deadline=None)
@given(batches)
def test_a_state_kept_outside_gives_the_windows_of_one_ingest(
    plan: list[EventBatch],
) -> None:
    """What the store does: states looked up per batch, a fresh BatchIngest each."""
    whole = new_ingest()
    for batch in plan:
        whole.add_batch(batch, received_at=NOW)
    states: dict[int, ActorState] = {}
    marks = MarkLayout()
    collected: list[Window] = []
    calls: list[int] = []

    def lookup(hashes: Collection[int]) -> Mapping[int, ActorState]:
        calls.append(len(hashes))
        return {h: states[h] for h in hashes if h in states}

    for batch in plan:
        pipe = new_batch_ingest()
        result = pipe.aggregate(batch.events, lookup, marks=marks, received_at=NOW)
        states.update(result.actors)
        marks = result.marks
        collected += result.windows
    assert len(calls) == len(plan)  # one lookup per batch
    assert_same_windows(collected, whole.windows())
    assert states == dict(whole.snapshot().actors)


def test_a_batch_that_cannot_be_aggregated_changes_nothing() -> None:
    pipe = new_ingest()
    good = EventBatch("b0", (Exposure(at(0), "a", "f", Variant.ON),))
    pipe.add_batch(good)
    before = pipe.snapshot()

    def failing(hashes: Collection[int]) -> Mapping[int, ActorState]:
        raise RuntimeError("the state store went away")

    batch = EventBatch("b1", (Exposure(at(0), "b", "f", Variant.ON),))
    with pytest.raises(RuntimeError):
        pipe.pipe.aggregate(batch.events, failing)
    assert pipe.snapshot() == before
    # The retry is not a duplicate: the key was never recorded.
    assert not pipe.add_batch(batch).duplicate_batch
    assert pipe.windows()[0].exposed.total_numerator == 2


def test_values_no_float_holds_never_fail_a_batch_of_built_events() -> None:
    """The issue's case: 10**400 used to fail after the exposures were counted."""
    pipe = new_ingest()
    batch = EventBatch(
        "b0",
        (
            Exposure(at(0), "a", "f", Variant.ON),
            BusinessEvent(
                at(0), "a", "csat_response", attributes=(("score", 10**400),)
            ),
            BusinessEvent(at(0), "a", "csat_response", value=1e308),
            BusinessEvent(at(0), "a", "csat_response", attributes=(("score", 4),)),
            RequestOutcome(at(0), "a", "/x", 200, float("inf")),
            RequestOutcome(at(0), "a", "/x", 200, float("nan")),
            RequestOutcome(at(0), "a", "/x", 200, 12.0),
            RequestOutcome(at(0), "\ud800", "/x", 200, 12.0),
        ),
    )
    counts = pipe.add_batch(batch)
    assert (counts.exposures, counts.outcomes, counts.invalid) == (1, 3, 3)
    assert counts.unattributed == 1
    (window,) = pipe.windows()
    csat = window.metrics["csat"].sums
    assert (csat.total_numerator, csat.total_denominator) == (4, 1)
    assert window.metrics["error_rate"].sums.total_denominator == 1
    assert pipe.add_batch(batch).duplicate_batch


def test_mark_layouts_only_grow_and_keep_their_bits() -> None:
    layout = MarkLayout().including(["senders", "users"])
    grown = layout.including(["users", "new_metric", "senders"])
    assert grown.names == (EXPOSED, "senders", "users", "new_metric")
    for name in layout.names:
        for lane in Lane:
            assert grown.bit(name, lane) == layout.bit(name, lane)
    bits = {grown.bit(n, lane) for n in grown.names for lane in Lane}
    assert len(bits) == 12 and max(bits) < 2**63
    assert MarkLayout.from_text(grown.to_text()) == grown


@pytest.mark.parametrize(
    ("names", "message"),
    [
        (("senders",), "starts with"),
        ((EXPOSED, "a", "a"), "unique"),
        ((EXPOSED, *(f"m{i}" for i in range(MAX_MARKS))), "at most 20"),
    ],
)
def test_bad_mark_layouts_are_refused(names: tuple[str, ...], message: str) -> None:
    with pytest.raises(StatsError, match=message):
        MarkLayout(names)


def test_more_first_time_metrics_than_a_state_holds_are_refused() -> None:
    specs = [
        MetricSpec(f"m{i}", MetricKind.UNIQUE_ACTORS, ("request",))
        for i in range(MAX_MARKS)
    ]
    with pytest.raises(StatsError, match="at most 20"):
        BatchIngest("run", "f", specs)


@pytest.mark.parametrize(
    "record",
    [
        {},
        {"actors": {}, "marks": [], "batch_keys": {}},
        {"actors": [[1]], "marks": [EXPOSED], "batch_keys": {}},
    ],
)
def test_malformed_snapshots_raise_stats_error(record: dict[str, object]) -> None:
    with pytest.raises(StatsError, match="malformed"):
        ScopeSnapshot.from_record(record)


def test_marks_of_metrics_no_longer_in_the_plan_keep_their_bits() -> None:
    """A plan revision may drop a metric: its marks stay, the others still count."""
    pipe = WindowIngest("run", "f", SPECS[:2])
    old = MarkLayout().including(["retired", "failing_users"])
    resumed = WindowIngest("run", "f", SPECS[:2], state=ScopeSnapshot({}, old))
    batch = EventBatch(
        "b",
        (
            Exposure(at(0), "a", "f", Variant.ON),
            RequestOutcome(at(0), "a", "/x", 500, 1.0),
        ),
    )
    pipe.add_batch(batch)
    resumed.add_batch(batch)
    assert resumed.snapshot().marks.names == (EXPOSED, "retired", "failing_users")
    assert_same_windows(resumed.windows(), pipe.windows())
