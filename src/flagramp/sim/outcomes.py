"""What happened in some minutes of one hour, once flags and regressions apply.

`realise` turns an hour's draws (`draws.hour_draws`) into outcome columns: each
visit's lane per flag, each request's status, fingerprint and latency, the
business events and page views that occurred, and environment-level events.
Both the aggregate mode (`span`) and the events mode (`render`) read these
columns, which is why they agree to the event.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from flagramp.core.errors import InvalidScenario
from flagramp.core.types import PropertyValue
from flagramp.sim.assignment import ALLOW_LISTED, ON, FlagState, flag_lanes
from flagramp.sim.channels import channel_table
from flagramp.sim.context import VisitContext
from flagramp.sim.draws import MINUTES_PER_HOUR, hour_draws, regression_draws
from flagramp.sim.population import Population, population_users
from flagramp.sim.request_outcomes import request_outcomes
from flagramp.sim.scenario import Regression, RegressionKind
from flagramp.sim.visit_events import business_events, page_views
from flagramp.sim.world import World

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True, slots=True, eq=False)
class Outcomes:
    """Minutes [start, end) of one hour. Visits are numbered 0..n-1 here.

    `visit_lanes` is (flags, visits). Requests, and events (business events,
    failure and timeout events, page views) point at their visit; `event_seq`
    orders a visit's events for rendering (requests `request_seq`). Environment
    events have no visit.
    """

    start: int
    end: int
    flags: tuple[FlagState, ...]
    visit_minute: IntArray
    visit_user: IntArray
    visit_offset: FloatArray
    visit_lanes: IntArray
    request_visit: IntArray
    request_seq: IntArray
    request_kind: IntArray
    request_status: IntArray
    request_fingerprint: IntArray
    request_latency: FloatArray
    request_channel: IntArray
    event_visit: IntArray
    event_seq: IntArray
    event_channel: IntArray
    event_value: FloatArray
    environment_minute: IntArray
    environment_kind: IntArray
    environment_offset: FloatArray


@functools.lru_cache(maxsize=64)
def property_mask(
    seed: int,
    population: Population,
    buckets: int,
    wanted: tuple[tuple[str, PropertyValue], ...],
) -> BoolArray:
    """Users who have every one of these property values."""
    users = population_users(seed, population, buckets)
    return users.matching(lambda p: all(p.get(k) == v for k, v in wanted))


def realise(
    seed: int, world: World, start: int, end: int, flags: Sequence[FlagState]
) -> Outcomes:
    """The outcomes of minutes [start, end), which must lie within one hour."""
    hour = start // MINUTES_PER_HOUR
    if not start < end <= (hour + 1) * MINUTES_PER_HOUR:
        raise InvalidScenario("realise", "minutes must be a non-empty part of an hour")
    states = tuple(flags)
    if len({f.key for f in states}) != len(states):
        raise InvalidScenario("flags", "each flag may be given once")
    draws = hour_draws(seed, world, hour)
    v0, v1 = draws.visit_range(start, end)
    users = population_users(seed, world.population, world.buckets)
    vuser = draws.visit_user[v0:v1]
    vminute = draws.visit_minute[v0:v1]
    n = vuser.shape[0]
    lanes = np.zeros((len(states), n), dtype=np.int64)
    for i, state in enumerate(states):
        lanes[i] = flag_lanes(seed, world.population, world.buckets, state)[vuser]
    treated = (lanes == ON) | (lanes == ALLOW_LISTED)
    row = {f.key: i for i, f in enumerate(states)}

    def on_for(flag: str | None) -> BoolArray:
        if flag is None:
            return np.asarray(treated.any(axis=0), dtype=bool)
        i = row.get(flag)
        return treated[i] if i is not None else np.zeros(n, dtype=bool)

    def gate(flag: str | None, flag_on: bool) -> BoolArray:
        if flag is None:
            return np.ones(n, dtype=bool)
        on = on_for(flag)
        return on if flag_on else ~on

    def hit(r: Regression) -> BoolArray:
        mask = on_for(r.flag) & (vminute >= r.start_minute)
        if r.end_minute is not None:
            mask &= vminute < r.end_minute
        wanted = r.user_filter()
        if wanted:
            mask &= property_mask(seed, world.population, world.buckets, wanted)[vuser]
        return mask

    table = channel_table(world.model, world.population)
    device = users.device[vuser]
    ctx = VisitContext(seed, world, draws, v0, v1, device, table, gate, hit)
    requests = request_outcomes(ctx, users.risk[vuser], users.latency_factor[vuser])
    business = business_events(ctx)
    pages = page_views(ctx, first_seq=business.next_seq)
    env = _environment(ctx, start, end, vminute)
    visit_of = np.concatenate([requests.extra_visit, business.visit, pages.visit])
    order = np.lexsort(
        (np.concatenate([requests.extra_seq, business.seq, pages.seq]), visit_of)
    )
    return Outcomes(
        start=start,
        end=end,
        flags=states,
        visit_minute=vminute,
        visit_user=vuser,
        visit_offset=draws.visit_offset[v0:v1],
        visit_lanes=lanes,
        request_visit=requests.visit,
        request_seq=requests.seq,
        request_kind=requests.kind,
        request_status=requests.status,
        request_fingerprint=requests.fingerprint,
        request_latency=requests.latency,
        request_channel=requests.channel,
        event_visit=visit_of[order],
        event_seq=np.concatenate([requests.extra_seq, business.seq, pages.seq])[order],
        event_channel=np.concatenate(
            [requests.extra_channel, business.channel, pages.channel]
        )[order],
        event_value=np.concatenate(
            [
                np.full(requests.extra_visit.shape[0], np.nan),
                business.value,
                pages.value,
            ]
        )[order],
        environment_minute=env[0],
        environment_kind=env[1],
        environment_offset=env[2],
    )


def _environment(
    ctx: VisitContext, start: int, end: int, vminute: IntArray
) -> tuple[IntArray, IntArray, FloatArray]:
    d, world = ctx.draws, ctx.world
    inside = (d.environment_minute >= start) & (d.environment_minute < end)
    minutes = [d.environment_minute[inside]]
    kinds = [d.environment_kind[inside]]
    offsets = [d.environment_offset[inside]]
    names = [k.name for k in world.model.environment]
    for idx, r in enumerate(world.regressions):
        if r.kind is not RegressionKind.ENVIRONMENT or r.target is None:
            continue
        u = regression_draws(ctx.seed, d.hour, idx, False, d.visits)[ctx.v0 : ctx.v1]
        extra = np.flatnonzero(ctx.hit(r) & (u < r.amount))
        minutes.append(vminute[extra])
        kinds.append(np.full(extra.shape[0], names.index(r.target), dtype=np.int64))
        offsets.append(d.visit_offset[ctx.v0 : ctx.v1][extra])
    minute, kind = np.concatenate(minutes), np.concatenate(kinds)
    offset = np.concatenate(offsets)
    order = np.lexsort((offset, minute))
    return minute[order], kind[order], offset[order]
