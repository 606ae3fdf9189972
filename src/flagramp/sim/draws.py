"""The random draws of one hour of a world, before any flag is applied.

Everything random about an hour (who visits when, how many requests of which
kind, each request's failure, fingerprint and latency draws, each visit's business
and page draws, environment events) comes from `SeedSequence([seed, hour, …])`,
so any span of minutes sees the same traffic however it is cut into calls, and a
run resumed at minute m sees what the continuous run saw.

Rationale: flags and regressions turn these draws into outcomes by comparison
(a request fails when its uniform is below its failure probability), never by
drawing more, so the same visit makes the same requests whatever the percentage
(common random numbers): moving a flag changes only what it should, and a
regression draws from its own stream, so adding one leaves other traffic as it was.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from flagramp.sim.categorical import choose
from flagramp.sim.population import population_users
from flagramp.sim.world import World

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

MINUTES_PER_HOUR = 60
# The traffic's namespace in SeedSequence, apart from the population's.
_TRAFFIC = 0x5EED0002
_REGRESSION = 0x5EED0003


def hour_rng(seed: int, hour: int, stream: int) -> np.random.Generator:
    """The generator of one stream of one hour (0 visits, 1 requests, …)."""
    return np.random.default_rng(np.random.SeedSequence([seed, _TRAFFIC, hour, stream]))


@dataclass(frozen=True, slots=True, eq=False)
class HourDraws:
    """One hour's visits and the draws behind their events, visits in minute order.

    Requests of visit v are rows `request_start[v]:request_start[v + 1]`.
    `business` is (visits, kinds, 3): occurrence, value and rounding uniforms;
    `business_z` the normal draw of log-normal values; `page` is (visits, flows,
    max pages) uniforms (entry, then each step).
    """

    hour: int
    visit_minute: IntArray
    visit_user: IntArray
    visit_offset: FloatArray
    request_start: IntArray
    request_kind: IntArray
    fail_u: FloatArray
    fingerprint_u: FloatArray
    latency_z: FloatArray
    business: FloatArray
    business_z: FloatArray
    page: FloatArray
    environment_minute: IntArray
    environment_kind: IntArray
    environment_offset: FloatArray

    @property
    def visits(self) -> int:
        return int(self.visit_minute.shape[0])

    def visit_range(self, start: int, end: int) -> tuple[int, int]:
        """Visits whose minute lies in [start, end)."""
        lo, hi = np.searchsorted(self.visit_minute, [start, end], side="left")
        return int(lo), int(hi)


def _search_sorted_needles(haystack: FloatArray, needles: FloatArray) -> IntArray:
    """`searchsorted(haystack, needles, side="right")`, needles sorted first.

    Rationale: a population's running sum is large; sorted needles let numpy
    search from the last hit instead of missing the cache on every search. The
    answers are put back in the needles' order, so the result is the same.
    """
    order = np.argsort(needles, kind="stable")
    found = np.empty(needles.shape[0], dtype=np.int64)
    found[order] = np.searchsorted(haystack, needles[order], side="right")
    return found


def _visits(seed: int, world: World, hour: int) -> tuple[IntArray, IntArray]:
    rng = hour_rng(seed, hour, 0)
    first = hour * MINUTES_PER_HOUR
    curve = world.curve.factors(first, first + MINUTES_PER_HOUR)
    minutes = np.arange(first, first + MINUTES_PER_HOUR, dtype=np.int64)
    generated = rng.poisson(world.visits_per_day / 1440.0 * curve)
    population = world.population
    n_named = len(population.named)
    named_rate = population.named_visits_per_day * n_named / 1440.0
    named = rng.poisson(named_rate * curve) if n_named else np.zeros(60, np.int64)
    users = population_users(seed, population, world.buckets)
    cum = users.visit_cumulative
    g = int(generated.sum())
    picked = _search_sorted_needles(cum, rng.random(g) * cum[-1])
    gen_users = n_named + np.minimum(picked, population.users - 1)
    named_users = rng.integers(0, max(n_named, 1), int(named.sum()))
    minute = np.concatenate([np.repeat(minutes, generated), np.repeat(minutes, named)])
    user = np.concatenate([gen_users, named_users]).astype(np.int64)
    order = np.argsort(minute, kind="stable")
    return minute[order], user[order]


@functools.lru_cache(maxsize=8)
def hour_draws(seed: int, world: World, hour: int) -> HourDraws:
    """The draws of `hour` (epoch minutes 60·hour … 60·hour + 59); cached.

    Depends on the world's population, event model, rate and curve only, not on
    its regressions.
    """
    model = world.model
    minute, user = _visits(seed, world, hour)
    n = int(minute.shape[0])
    rng = hour_rng(seed, hour, 1)
    offset = rng.random(n) * 30.0
    sizes = rng.integers(model.session_min, model.session_max + 1, n)
    start = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    r = int(start[-1])
    weights = np.cumsum([k.weight for k in model.requests])
    kind = choose(weights / weights[-1], rng.random(r))
    fail_u = rng.random(r)
    fingerprint_u = rng.random(r)
    latency_z = rng.standard_normal(r)
    rng = hour_rng(seed, hour, 2)
    j = len(model.business)
    business = rng.random((n, j, 3))
    business_z = rng.standard_normal((n, j))
    most = max((f.max_pages for f in model.pages), default=0)
    page = hour_rng(seed, hour, 3).random((n, len(model.pages), most))
    env_minute, env_kind, env_offset = _environment(seed, world, hour)
    return HourDraws(
        hour=hour,
        visit_minute=minute,
        visit_user=user,
        visit_offset=offset,
        request_start=start,
        request_kind=kind,
        fail_u=fail_u,
        fingerprint_u=fingerprint_u,
        latency_z=latency_z,
        business=business,
        business_z=business_z,
        page=page,
        environment_minute=env_minute,
        environment_kind=env_kind,
        environment_offset=env_offset,
    )


def _environment(
    seed: int, world: World, hour: int
) -> tuple[IntArray, IntArray, FloatArray]:
    kinds = world.model.environment
    rng = hour_rng(seed, hour, 4)
    first = hour * MINUTES_PER_HOUR
    if not kinds:
        none = np.zeros(0, np.int64)
        return none, none, np.zeros(0)
    curve = world.curve.factors(first, first + MINUTES_PER_HOUR)
    rates = np.array([k.per_day for k in kinds]) / 1440.0
    counts = rng.poisson(curve[:, None] * rates[None, :])
    cells = np.repeat(np.arange(counts.size), counts.ravel())
    minute_index, kind = np.divmod(cells, len(kinds))
    offset = rng.random(cells.shape[0]) * 60.0
    return (first + minute_index).astype(np.int64), kind.astype(np.int64), offset


@functools.lru_cache(maxsize=32)
def regression_draws(
    seed: int, hour: int, index: int, per_request: bool, size: int
) -> FloatArray:
    """Uniforms of regression `index` for one hour: per request or per visit."""
    seq = np.random.SeedSequence([seed, _REGRESSION, hour, index, int(per_request)])
    return np.random.default_rng(seq).random(size)
