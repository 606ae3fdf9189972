"""Per-minute aggregates straight from the simulator, for long runs and benchmarks.

Plain numpy arrays (`sim` may not import `stats`): arm 0 is control, arm 1 is
treatment; per-bucket sums convert to `stats.BucketSums` with
`BucketSums(errors[r, arm], requests[r, arm])`. Because a simulated user's session lies
within one minute, distinct users per fingerprint add exactly across minutes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from flagramp.sim.scenario import Scenario
from flagramp.sim.traffic import minute_users

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

CONTROL = 0
TREATMENT = 1


@dataclass(frozen=True, slots=True)
class MinuteAggregate:
    """One minute of traffic, summed per replicate, arm and user bucket.

    Shapes: `requests` and `errors` (R, 2, B); `users` (R, 2);
    `fingerprint_users` (R, 2, F): distinct users who hit each fingerprint, indexed
    like `Scenario.fingerprint_names()`.
    """

    minute: int
    requests: FloatArray
    errors: FloatArray
    users: IntArray
    fingerprint_users: IntArray

    def merge(self, other: MinuteAggregate) -> MinuteAggregate:
        """The sums of two windows (the later minute is kept as `minute`)."""
        return MinuteAggregate(
            minute=max(self.minute, other.minute),
            requests=self.requests + other.requests,
            errors=self.errors + other.errors,
            users=self.users + other.users,
            fingerprint_users=self.fingerprint_users + other.fingerprint_users,
        )


def minute_aggregate(
    seed: int, scenario: Scenario, minute: int, replicates: int = 1
) -> MinuteAggregate:
    """The aggregates of `minute_users(seed, scenario, minute, replicates)`."""
    block = minute_users(seed, scenario, minute, replicates)
    b = scenario.buckets
    arm = block.treatment.astype(np.int64)
    cell = (block.replicate * 2 + arm) * b + block.bucket
    size = replicates * 2 * b
    requests = np.bincount(cell, weights=block.requests, minlength=size)
    errors = np.bincount(cell, weights=block.errors, minlength=size)
    users = np.bincount(block.replicate * 2 + arm, minlength=replicates * 2)
    f = len(scenario.fingerprint_names())
    # Distinct (user, fingerprint) pairs, then count them per replicate and arm.
    pairs = np.unique(block.error_user * f + block.error_fingerprint)
    user, fp = np.divmod(pairs, f)
    slot = (block.replicate[user] * 2 + arm[user]) * f + fp
    fingerprint_users = np.bincount(slot, minlength=replicates * 2 * f)
    return MinuteAggregate(
        minute=minute,
        requests=requests.reshape(replicates, 2, b).astype(np.float64),
        errors=errors.reshape(replicates, 2, b).astype(np.float64),
        users=users.reshape(replicates, 2).astype(np.int64),
        fingerprint_users=fingerprint_users.reshape(replicates, 2, f).astype(np.int64),
    )
