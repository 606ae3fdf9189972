"""The events mode: a world's traffic as the events a real application sends.

Each visit sends one exposure per flag it is eligible for, then its requests,
business events and page views, spread over the 30 seconds after the visit
starts (so a visit lies within its minute, and page views keep their order).
A minute's events are in time order.
Environment-level events are `BusinessEvent`s with an empty actor: they belong
to no user and no lane. The columns are those `span_aggregate` sums, so the
events of a span aggregate to exactly its sums.
"""

from __future__ import annotations

import datetime as dt
import zlib
from collections.abc import Iterator, Sequence

import numpy as np

from flagramp.core.events import (
    BusinessEvent,
    DeviceClass,
    Event,
    EventBatch,
    Exposure,
    RequestOutcome,
    Variant,
)
from flagramp.sim.aggregate import FloatArray, IntArray
from flagramp.sim.assignment import ALLOW_LISTED, OFF, FlagState
from flagramp.sim.channels import channel_table
from flagramp.sim.outcomes import Outcomes, realise
from flagramp.sim.population import population_ids
from flagramp.sim.span import hour_slices
from flagramp.sim.world import World

#: The actor of environment-level events (contact-center calls): nobody.
NO_ACTOR = ""
# A visit's events are spread over this many seconds after it starts.
_VISIT_SECONDS = 30.0


def outcome_stamps(
    out: Outcomes,
) -> tuple[IntArray, FloatArray, FloatArray]:
    """A span's outcomes in each visit's order (requests, then other events,
    by seq): the order (indices into requests then events), each one's epoch
    second in that order, and each visit's start. The simulated windows date
    error fingerprints with these, so their times are the events' to the bit."""
    visit = np.concatenate([out.request_visit, out.event_visit])
    seq = np.concatenate([out.request_seq, out.event_seq])
    order = np.lexsort((seq, visit))
    visit = visit[order]
    per_visit = np.bincount(visit, minlength=out.visit_user.shape[0])
    first = np.concatenate([[0], np.cumsum(per_visit)])
    rank = np.arange(visit.shape[0]) - first[visit]
    step = _VISIT_SECONDS / (per_visit[visit] + 1.0)
    start_ts = out.visit_minute * 60.0 + out.visit_offset
    return order, start_ts[visit] + (rank + 1) * step, start_ts


def _render(
    seed: int, world: World, out: Outcomes, environment: str
) -> dict[int, list[Event]]:
    ids = population_ids(seed, world.population)
    table = channel_table(world.model, world.population).channels
    names = world.fingerprint_names()
    env_names = [k.name for k in world.model.environment]
    keys = [f.key for f in out.flags]
    n_req = out.request_visit.shape[0]
    order, stamps_array, start_ts = outcome_stamps(out)
    per_visit = np.bincount(
        np.concatenate([out.request_visit, out.event_visit]),
        minlength=out.visit_user.shape[0],
    )
    stamps = stamps_array.tolist()
    visit_stamps = start_ts.tolist()
    order_list = order.tolist()
    by_minute: dict[int, list[Event]] = {m: [] for m in range(out.start, out.end)}
    k = 0
    for v, actor_index in enumerate(out.visit_user.tolist()):
        actor = ids[actor_index]
        events = by_minute[int(out.visit_minute[v])]
        at = dt.datetime.fromtimestamp(visit_stamps[v], tz=dt.UTC)
        for row, flag in enumerate(keys):
            lane = int(out.visit_lanes[row, v])
            if lane < 0:
                continue
            variant = Variant.OFF if lane == OFF else Variant.ON
            events.append(
                Exposure(at, actor, flag, variant, environment, lane == ALLOW_LISTED)
            )
        for _ in range(int(per_visit[v])):
            i = order_list[k]
            when = dt.datetime.fromtimestamp(stamps[k], tz=dt.UTC)
            k += 1
            if i < n_req:
                ch = table[int(out.request_channel[i])]
                fp = int(out.request_fingerprint[i])
                events.append(
                    RequestOutcome(
                        at=when,
                        actor=actor,
                        route=ch.route or "",
                        status=ch.status or 200,
                        latency_ms=float(out.request_latency[i]),
                        device=ch.device,
                        error=names[fp] if fp >= 0 else None,
                        name=ch.name,
                    )
                )
                continue
            e = i - n_req
            ch = table[int(out.event_channel[e])]
            value = float(out.event_value[e])
            events.append(
                BusinessEvent(
                    at=when,
                    actor=actor,
                    name=ch.name,
                    value=None if np.isnan(value) else value,
                    route=ch.route,
                    device=ch.device,
                    attributes=ch.attributes,
                )
            )
    for m, kind, offset in zip(
        out.environment_minute.tolist(),
        out.environment_kind.tolist(),
        out.environment_offset.tolist(),
        strict=True,
    ):
        by_minute[m].append(
            BusinessEvent(
                at=dt.datetime.fromtimestamp(m * 60.0 + offset, tz=dt.UTC),
                actor=NO_ACTOR,
                name=env_names[kind],
                device=DeviceClass.OTHER,
            )
        )
    for minute_events in by_minute.values():
        # Stable: a visit's exposures come first and its events keep their order.
        minute_events.sort(key=_time_of)
    return by_minute


def _time_of(event: Event) -> dt.datetime:
    return event.at


def span_batches(
    seed: int,
    world: World,
    start: int,
    end: int,
    flags: Sequence[FlagState],
    *,
    environment: str = "production",
) -> Iterator[EventBatch]:
    """One batch per epoch minute in [start, end), in order.

    A batch's key names the seed, minute and a digest of the world and flag
    states, so redelivering it is idempotent and other traffic never shares it.
    """
    digest = zlib.crc32(repr((world, tuple(flags), environment)).encode())
    for a, b in hour_slices(start, end):
        out = realise(seed, world, a, b, flags)
        for minute, events in _render(seed, world, out, environment).items():
            yield EventBatch(f"sim-{seed}-{minute}-{digest:08x}", tuple(events))


def span_events(
    seed: int,
    world: World,
    start: int,
    end: int,
    flags: Sequence[FlagState],
    *,
    environment: str = "production",
) -> tuple[Event, ...]:
    """Every event of epoch minutes [start, end), minute after minute."""
    return tuple(
        e
        for batch in span_batches(
            seed, world, start, end, flags, environment=environment
        )
        for e in batch.events
    )
