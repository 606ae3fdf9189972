"""Who sees a flag: the lane of every simulated user, by Flipper's own rules.

A `FlagState` is what the store holds for one flag at one moment (the gates a
rollout uses); its lanes follow `core.flags` exactly: deny and eligibility block
first, then boolean, the actor gate (allow list), and percentage_of_actors with
Flipper's `crc32(key + id) % 100_000 < percentage * 1_000`. So when the engine
sets 25 % in the store and the demo hands the simulator the same state, both agree
on who is treated, and a user keeps their bucket as the percentage grows.

Lanes: OFF 0, ON 1, ALLOW_LISTED 2 (on through the actor gate: not randomised),
NOT_EXPOSED -1 (outside the flag's eligibility segment: no exposure at all).
"""

from __future__ import annotations

import functools
import zlib
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from flagramp.core.errors import InvalidScenario
from flagramp.core.flags.bucketing import BUCKETS, SCALING_FACTOR
from flagramp.core.flags.model import Flag
from flagramp.core.flags.segments import Segment
from flagramp.sim.population import Population, population_ids, population_users

IntArray = npt.NDArray[np.int64]

NOT_EXPOSED = -1
OFF = 0
ON = 1
ALLOW_LISTED = 2
#: Lanes an aggregate holds: OFF, ON, ALLOW_LISTED.
LANES = 3
LANE_NAMES = ("off", "on", "allow_listed")


@dataclass(frozen=True, slots=True)
class FlagState:
    """One flag's gates as the simulator reads them.

    `bucket_key` is the string hashed with the actor id (default: `key`): flags
    launched with shared users give it the same value and so bucket alike.
    """

    key: str
    percentage: float = 0.0
    allow_list: tuple[str, ...] = ()
    eligibility: Segment | None = None
    boolean: bool = False
    denied: tuple[str, ...] = ()
    bucket_key: str | None = None

    def __post_init__(self) -> None:
        if not 0.0 <= self.percentage <= 100.0:
            raise InvalidScenario(
                f"flag {self.key!r}", f"percentage {self.percentage!r} not in 0..100"
            )

    @classmethod
    def from_flag(
        cls,
        flag: Flag,
        segments: Mapping[str, Segment],
        *,
        bucket_key: str | None = None,
    ) -> FlagState:
        """The state of a `core.flags.Flag` as the store holds it (`bucket_key`,
        when given, overrides the flag's own).

        Raises InvalidScenario for gates the simulator does not assign by
        (expressions, groups, percentage_of_time) and for a missing segment.
        """
        where = f"flag {flag.key!r}"
        pot = flag.percentage_of_time
        if flag.expression or flag.groups or (pot is not None and not pot.is_zero):
            raise InvalidScenario(
                where,
                "the simulator assigns by boolean, actors, percentage_of_actors, "
                "deny and eligibility only",
            )
        eligibility = None
        if flag.eligibility is not None:
            eligibility = segments.get(flag.eligibility)
            if eligibility is None:
                raise InvalidScenario(
                    where, f"eligibility segment {flag.eligibility!r} is not defined"
                )
        poa = flag.percentage_of_actors
        return cls(
            key=flag.key,
            percentage=0.0 if poa is None else min(max(poa.value, 0.0), 100.0),
            allow_list=flag.actors,
            eligibility=eligibility,
            boolean=flag.boolean,
            denied=flag.denied_actors,
            bucket_key=bucket_key if bucket_key is not None else flag.bucket_key,
        )

    def at(self, percentage: float) -> FlagState:
        """The same flag at another percentage."""
        return FlagState(
            self.key,
            percentage,
            self.allow_list,
            self.eligibility,
            self.boolean,
            self.denied,
            self.bucket_key,
        )


@functools.lru_cache(maxsize=32)
def flipper_buckets(seed: int, population: Population, bucket_key: str) -> IntArray:
    """Each user's percentage_of_actors bucket (0..99_999) for `bucket_key`."""
    # Do not change: Flipper's rule (core.flags.bucketing); crc32(key + id) is
    # crc32(id, crc32(key)), so the key is hashed once.
    key_crc = zlib.crc32(bucket_key.encode())
    ids = population_ids(seed, population)
    return np.fromiter(
        (zlib.crc32(a.encode(), key_crc) % BUCKETS for a in ids),
        dtype=np.int64,
        count=len(ids),
    )


@functools.lru_cache(maxsize=64)
def flag_lanes(
    seed: int, population: Population, buckets: int, state: FlagState
) -> IntArray:
    """The lane of every user of the population for this flag state."""
    users = population_users(seed, population, buckets)
    n = users.size
    lane = np.full(n, OFF, dtype=np.int64)
    if state.boolean or state.percentage >= 100.0:
        lane[:] = ON
    elif state.percentage > 0.0:
        key = state.key if state.bucket_key is None else state.bucket_key
        # IEEE double multiply, as Percentage.threshold and Ruby do.
        threshold = state.percentage * SCALING_FACTOR
        lane[flipper_buckets(seed, population, key) < threshold] = ON
    if not state.boolean and state.allow_list:
        lane[_indices(users.ids, state.allow_list)] = ALLOW_LISTED
    if state.denied:
        lane[_indices(users.ids, state.denied)] = OFF
    if state.eligibility is not None:
        lane[~users.matching(state.eligibility.compile())] = NOT_EXPOSED
    lane.flags.writeable = False
    return lane


def _indices(ids: tuple[str, ...], wanted: tuple[str, ...]) -> IntArray:
    chosen = set(wanted)
    return np.array([i for i, a in enumerate(ids) if a in chosen], dtype=np.int64)
