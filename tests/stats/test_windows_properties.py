"""Properties: window merge is associative and equals aggregating the union."""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from flagramp.core.events import Event, Exposure, RequestOutcome, Variant
from flagramp.core.metric_kinds import MetricKind
from flagramp.stats.ingest import ActorState, MetricSpec, ScopeSnapshot, WindowIngest
from flagramp.stats.sketches import actor_hash
from flagramp.stats.windows import DAY, Lane, Window, compact

T0 = dt.datetime(2026, 11, 23, 10, 0, tzinfo=dt.UTC)
ACTORS = [f"u{i}" for i in range(12)]
ROUTES = ["/a", "/b"]

# Kinds whose sums do not depend on the run's history (first-time actors do).
SPECS = (
    MetricSpec("errors", MetricKind.RATIO, ("request_failed", "request")),
    MetricSpec(
        "errors_a",
        MetricKind.RATIO,
        ("request_failed", "request"),
        None,
        ("route == /a",),
    ),
    MetricSpec("latency", MetricKind.MEAN, ("request",), "latency_ms"),
    MetricSpec("p90", MetricKind.QUANTILE, ("request",), "latency_ms"),
    MetricSpec("hits", MetricKind.COUNT, ("request",)),
)

outcomes = st.builds(
    lambda actor, minute, second, route, status, latency, fp: RequestOutcome(
        T0 + dt.timedelta(minutes=minute, seconds=second),
        actor,
        route,
        status,
        latency,
        error=fp if status >= 500 else None,
    ),
    st.sampled_from(ACTORS),
    st.integers(0, 4),
    st.floats(0, 59.9),
    st.sampled_from(ROUTES),
    st.sampled_from([200, 200, 404, 500, 503]),
    st.floats(0.5, 5000, allow_nan=False),
    st.sampled_from(["E1 /a", "E2 /b", "E3 /a"]),
)


def exposures() -> list[Event]:
    return [
        Exposure(T0, actor, "f", Variant.ON if i % 3 else Variant.OFF)
        for i, actor in enumerate(ACTORS)
    ]


def windows_of(
    events: list[Event], assignments: dict[str, Lane] | None = None
) -> list[Window]:
    actors = {
        actor_hash(a): ActorState(lane) for a, lane in (assignments or {}).items()
    }
    pipe = WindowIngest("run", "f", SPECS, exact_cap=4, state=ScopeSnapshot(actors))
    pipe.add(events)
    return list(pipe.windows())


def daily(windows: list[Window]) -> dict[Lane, Window]:
    return {w.key.lane: w for w in compact(windows, DAY)}


@settings(max_examples=60, deadline=None)
@given(st.lists(outcomes, max_size=120), st.lists(st.integers(0, 2), max_size=120))
def test_merging_parts_equals_aggregating_the_union(
    events: list[RequestOutcome], parts: list[int]
) -> None:
    union = windows_of(exposures() + list(events))
    assign = {a: (Lane.ON if i % 3 else Lane.OFF) for i, a in enumerate(ACTORS)}
    split: list[list[Event]] = [exposures(), [], []]
    for i, e in enumerate(events):
        split[parts[i] if i < len(parts) else 0].append(e)
    pieces = [w for part in split for w in windows_of(part, assign)]
    whole, merged = daily(union), daily(pieces)
    assert whole.keys() == merged.keys()
    for lane, w in whole.items():
        assert w.same_as(merged[lane])


@settings(max_examples=60, deadline=None)
@given(st.lists(outcomes, max_size=150))
def test_window_merge_is_associative_and_commutative(
    events: list[RequestOutcome],
) -> None:
    on = [w for w in windows_of(exposures() + list(events)) if w.key.lane is Lane.ON]
    while len(on) < 3:
        on.append(on[-1])
    a, b, c = on[0], on[1], on[2]
    left = a.merge(b).merge(c)
    assert left.same_as(a.merge(b.merge(c)))
    assert left.same_as(c.merge(a).merge(b))
    assert left.same_as(b.merge(c).merge(a))
