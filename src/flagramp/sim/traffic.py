"""Simulated users for one minute: a pure function of (seed, scenario, minute).

Everything a minute holds is drawn from one generator seeded with
`SeedSequence([seed, minute])`, so a run resumed at minute m sees exactly the traffic
the continuous run saw. `replicates` simulates that many independent stages at once
(vectorised; the benchmark runs thousands); replicate r of a call depends on the
replicate count, so compare runs with the same count.

Users are assigned to one of `scenario.buckets` user buckets uniformly at random.
Rationale: this has the distribution of `stats.buckets.bucket_of` (crc32 of the actor
id mod B, independent of the flag split) without hashing hundreds of thousands of ids
per minute; `sim` may not import `stats`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from flagramp.core.errors import InvalidScenario
from flagramp.sim.scenario import RegressionKind, Scenario

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
FloatArray = npt.NDArray[np.float64]

MINUTES_PER_DAY = 1440


@dataclass(frozen=True, slots=True)
class UserBlock:
    """The users who arrive in one minute, one row per user, over all replicates.

    Failing requests are listed separately (`error_user`, `error_fingerprint`), in
    user order: background errors first, then injected fingerprints.
    """

    minute: int
    replicates: int
    replicate: IntArray
    treatment: BoolArray
    oracle: BoolArray
    bucket: IntArray
    requests: IntArray
    errors: IntArray
    error_user: IntArray
    error_fingerprint: IntArray

    @property
    def users(self) -> int:
        """Number of users in the block (all replicates)."""
        return int(self.replicate.shape[0])


def request_rate(scenario: Scenario, minute: int) -> float:
    """Expected requests in `minute`, following the scenario's daily pattern."""
    phase = 2.0 * math.pi * (minute % MINUTES_PER_DAY) / MINUTES_PER_DAY
    # Rationale: a sine peaking mid-day is enough to exercise rate-dependent code.
    return scenario.requests_per_minute * (
        1.0 - scenario.daily_amplitude * math.cos(phase)
    )


def minute_rng(seed: int, minute: int) -> np.random.Generator:
    """The generator for one minute's traffic; independent across minutes."""
    return np.random.default_rng(np.random.SeedSequence([seed, minute]))


def fingerprint_weights(scenario: Scenario) -> FloatArray:
    """Long-tailed (Zipf) probabilities of the background fingerprints."""
    ranks = np.arange(1, scenario.background_fingerprints + 1, dtype=np.float64)
    weights = ranks ** (-scenario.fingerprint_exponent)
    return np.asarray(weights / weights.sum(), dtype=np.float64)


def _propensities(
    rng: np.random.Generator, scenario: Scenario, users: int
) -> FloatArray:
    p, rho = scenario.error_rate, scenario.icc
    if rho == 0.0 or p == 0.0:
        return np.full(users, p)
    # Rationale: Beta(a, b) with a + b = (1 - rho) / rho has mean p and makes the
    # intra-user correlation of two Bernoulli requests equal to rho.
    total = (1.0 - rho) / rho
    return rng.beta(p * total, (1.0 - p) * total, users)


def minute_users(
    seed: int, scenario: Scenario, minute: int, replicates: int = 1
) -> UserBlock:
    """The users, sessions and failures of `minute` for `replicates` stages."""
    if replicates < 1 or minute < 0:
        raise InvalidScenario("minute_users", "replicates must be >= 1, minute >= 0")
    rng = minute_rng(seed, minute)
    mean_users = request_rate(scenario, minute) / scenario.mean_session
    per_replicate = rng.poisson(mean_users, replicates)
    n = int(per_replicate.sum())
    replicate = np.repeat(np.arange(replicates, dtype=np.int64), per_replicate)
    treatment = rng.random(n) < scenario.treatment_share
    oracle = rng.random(n) < scenario.oracle_share
    bucket = rng.integers(0, scenario.buckets, n, dtype=np.int64)
    requests = rng.integers(
        scenario.session_min, scenario.session_max + 1, n, dtype=np.int64
    )
    propensity = _propensities(rng, scenario, n)
    active = [r for r in scenario.regressions if r.is_active(minute)]

    def hit(ehr: str | None) -> BoolArray:
        if ehr is None:
            return treatment
        return treatment & (oracle if ehr == "oracle" else ~oracle)

    for r in active:
        if r.kind is RegressionKind.RATE:
            propensity = np.where(
                hit(r.ehr), np.minimum(propensity + r.amount, 1.0), propensity
            )
    background = rng.binomial(requests, propensity).astype(np.int64)
    weights = np.cumsum(fingerprint_weights(scenario))
    users = np.arange(n, dtype=np.int64)
    error_user = [np.repeat(users, background)]
    drawn = np.searchsorted(weights, rng.random(int(background.sum())), side="right")
    error_fp = [np.minimum(drawn, scenario.background_fingerprints - 1)]
    errors = background.copy()
    injected_index = scenario.background_fingerprints
    for r in scenario.regressions:
        if r.kind is not RegressionKind.FINGERPRINT:
            continue
        if r in active:
            # Only requests that did not already fail can fail with the new error.
            q = np.where(hit(r.ehr), r.amount, 0.0)
            extra = rng.binomial(requests - errors, q).astype(np.int64)
            errors += extra
            error_user.append(np.repeat(users, extra))
            error_fp.append(np.full(int(extra.sum()), injected_index, dtype=np.int64))
        injected_index += 1
    all_users = np.concatenate(error_user)
    order = np.argsort(all_users, kind="stable")
    return UserBlock(
        minute=minute,
        replicates=replicates,
        replicate=replicate,
        treatment=treatment,
        oracle=oracle,
        bucket=bucket,
        requests=requests,
        errors=errors,
        error_user=all_users[order],
        error_fingerprint=np.concatenate(error_fp).astype(np.int64)[order],
    )
