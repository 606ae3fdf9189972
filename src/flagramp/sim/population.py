"""The simulated users: a fixed population, so users return across visits.

A population is a pure function of (seed, population): user i has the same actor
id, properties (`ehr: oracle`), device, visit rate and frailty in every minute, so
the 1-week and 1-month unique-user counts and "each month" questions mean what
they say, and a user keeps their Flipper bucket as a percentage grows.

Visit rates differ between users (Gamma-distributed, `visit_shape`): a few visit
often, most now and then. Named users (allow lists, UAT testers) come first, with
their own visit rate.
"""

from __future__ import annotations

import functools
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np
import numpy.typing as npt

from flagramp.core.errors import InvalidScenario
from flagramp.core.events import DeviceClass
from flagramp.core.types import PropertyValue
from flagramp.sim.categorical import choose

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

_USER_BUCKET_SALT = b"flagramp-user-bucket:"


def user_bucket(actor: str, buckets: int) -> int:
    """The user bucket a real ingest sums this actor's events in.

    Keep in step with `stats.buckets.bucket_of` (sim may not import stats; a test
    compares the two).
    """
    return zlib.crc32(_USER_BUCKET_SALT + actor.encode()) % buckets


@dataclass(frozen=True, slots=True)
class Trait:
    """A user property and how it is spread: `Trait("ehr", ("oracle", "vista"),
    (0.3, 0.7))`."""

    name: str
    values: tuple[PropertyValue, ...]
    weights: tuple[float, ...]

    def __post_init__(self) -> None:
        if not self.values or len(self.values) != len(self.weights):
            raise InvalidScenario(f"trait {self.name!r}", "needs one weight per value")
        if min(self.weights) < 0 or sum(self.weights) <= 0:
            raise InvalidScenario(f"trait {self.name!r}", "weights must be >= 0")


_DEFAULT_DEVICES = (
    (DeviceClass.DESKTOP, 0.6),
    (DeviceClass.MOBILE, 0.35),
    (DeviceClass.TABLET, 0.05),
)


@dataclass(frozen=True, slots=True)
class Population:
    """Who the users are.

    `failure_spread` is the variance of a user's failure multiplier (mean 1,
    Gamma): users whose requests fail more than others', which makes one user's
    failures correlated. `latency_spread` is the log-scale spread of a user's
    latency factor (seed 001: latency grows with the number of claims).
    """

    users: int = 10_000
    traits: tuple[Trait, ...] = ()
    devices: tuple[tuple[DeviceClass, float], ...] = _DEFAULT_DEVICES
    visit_shape: float = 1.0
    named: tuple[str, ...] = ()
    named_properties: tuple[tuple[str, PropertyValue], ...] = ()
    named_visits_per_day: float = 4.0
    failure_spread: float = 0.0
    latency_spread: float = 0.0

    def __post_init__(self) -> None:
        if self.users < 1 or self.visit_shape <= 0:
            raise InvalidScenario("population", "needs users >= 1, visit_shape > 0")
        if not self.devices or min(w for _, w in self.devices) < 0:
            raise InvalidScenario("population", "device shares must be >= 0")
        if self.failure_spread < 0 or self.latency_spread < 0:
            raise InvalidScenario("population", "spreads must be >= 0")
        if len(set(self.named)) != len(self.named):
            raise InvalidScenario("population", "named users must be distinct")
        if self.named_visits_per_day < 0:
            raise InvalidScenario("population", "named_visits_per_day < 0")

    @property
    def size(self) -> int:
        """Named plus generated users."""
        return len(self.named) + self.users


@dataclass(frozen=True, slots=True, eq=False)
class Users:
    """A population made concrete for one seed: one entry per user.

    `device` indexes `Population.devices`; `bucket` is the user bucket
    (`user_bucket`); `risk` multiplies failure rates and `latency_factor`
    latencies.
    """

    ids: tuple[str, ...]
    profiles: tuple[Mapping[str, PropertyValue], ...]
    """The distinct sets of property values users have (few: traits are few)."""
    profile: IntArray
    """Each user's set of property values, as an index into `profiles`."""
    device: IntArray
    bucket: IntArray
    visit_weight: FloatArray
    """Relative visit rates of the generated users (named users: 0)."""
    visit_cumulative: FloatArray
    """Running sum of the generated users' visit weights, to draw who visits."""
    risk: FloatArray
    latency_factor: FloatArray

    @property
    def size(self) -> int:
        return len(self.ids)

    @property
    def properties(self) -> tuple[Mapping[str, PropertyValue], ...]:
        """Each user's properties (shared, read-only mappings)."""
        return tuple(self.profiles[i] for i in self.profile.tolist())

    def matching(
        self, check: Callable[[Mapping[str, PropertyValue]], bool]
    ) -> BoolArray:
        """Which users' properties pass `check` (asked once per profile)."""
        ok = np.array([check(p) for p in self.profiles], dtype=bool)
        return np.asarray(ok[self.profile], dtype=bool)


def _stream(seed: int, name: int) -> np.random.Generator:
    # 0x5EED_0001: the population's namespace, apart from traffic's.
    return np.random.default_rng(np.random.SeedSequence([seed, 0x5EED0001, name]))


def _choice(rng: np.random.Generator, weights: tuple[float, ...], n: int) -> IntArray:
    cum = np.cumsum(np.asarray(weights, dtype=np.float64))
    return choose(cum / cum[-1], rng.random(n))


@functools.lru_cache(maxsize=16)
def population_ids(seed: int, population: Population) -> tuple[str, ...]:
    """Actor ids: the named users, then `sim-<seed>-<i>`; stable for a seed."""
    return population.named + tuple(f"sim-{seed}-{i}" for i in range(population.users))


@functools.lru_cache(maxsize=16)
def population_users(seed: int, population: Population, buckets: int) -> Users:
    """The users of `population` for `seed` (cached: the same value every call)."""
    n_named, n = len(population.named), population.users
    total = n_named + n
    ids = population_ids(seed, population)
    codes = [
        _choice(_stream(seed, 1 + t), trait.weights, n)
        for t, trait in enumerate(population.traits)
    ]
    combos = np.stack(codes, axis=1) if codes else np.zeros((n, 0), dtype=np.int64)
    unique, profile = np.unique(combos, axis=0, return_inverse=True)
    profiles: list[Mapping[str, PropertyValue]] = [
        MappingProxyType(
            {
                trait.name: trait.values[int(c)]
                for trait, c in zip(population.traits, row, strict=True)
            }
        )
        for row in unique
    ]
    # Named users have their own profile, last.
    profiles.append(MappingProxyType(dict(population.named_properties)))
    profile_of = np.concatenate(
        [np.full(n_named, len(profiles) - 1), np.asarray(profile).reshape(-1)]
    ).astype(np.int64)
    rng = _stream(seed, 0)
    device = _choice(rng, tuple(w for _, w in population.devices), total)
    weight = np.concatenate(
        [np.zeros(n_named), rng.gamma(population.visit_shape, 1.0, n)]
    )
    v = population.failure_spread
    risk = rng.gamma(1.0 / v, v, total) if v > 0 else np.ones(total)
    latency = np.exp(population.latency_spread * rng.standard_normal(total))
    bucket = np.fromiter(
        (user_bucket(a, buckets) for a in ids), dtype=np.int64, count=total
    )
    return Users(
        ids=ids,
        profiles=tuple(profiles),
        profile=profile_of,
        device=device,
        bucket=bucket,
        visit_weight=np.asarray(weight, dtype=np.float64),
        visit_cumulative=np.cumsum(weight[n_named:]),
        risk=np.asarray(risk, dtype=np.float64),
        latency_factor=np.asarray(latency, dtype=np.float64),
    )
