"""Overdispersion of external totals: how much wider than per-request variance.

Prometheus and Datadog give totals per interval (errors, requests), not users, so
the user-bucket variance of `stats.buckets` cannot be computed. The test then uses
the per-request variance p(1 − p)/n inflated by a factor φ (quasi-binomial), and φ
is estimated from the pre-run window by Pearson's statistic over its intervals:

    φ = 1/(m − 1) · Σᵢ (yᵢ − p̂ nᵢ)² / (nᵢ p̂ (1 − p̂)),   p̂ = Σ yᵢ / Σ nᵢ

(Poisson counts: (yᵢ − λ̂ nᵢ)² / (λ̂ nᵢ)). A user's correlated requests mostly fall
in one interval, so they widen the spread between intervals as they widen the
variance of a rate; drifts over the window (a daily pattern) widen it too, which
errs on the safe side (fewer false rollbacks, slower detection). φ is floored at 1:
data less variable than independent requests do not make a test bolder.

The result carries a sentence for the evidence, so reports say that the variance
is per request, inflated, and from how much pre-run data.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import numpy.typing as npt

from flagramp.core.errors import StatsError
from flagramp.stats.estimates import ArmEstimate, arm_from_totals

#: Fewer pre-run intervals than this give a factor too noisy to trust; the
#: estimate is still returned, marked unreliable, and the evidence says so.
MIN_INTERVALS = 10


class Family(StrEnum):
    """The per-request model the factor inflates."""

    BINOMIAL = "binomial"
    """Events out of trials (errors out of requests)."""
    POISSON = "poisson"
    """Counts per unit of exposure (calls per minute)."""


@dataclass(frozen=True, slots=True)
class Overdispersion:
    """An overdispersion factor φ ≥ 1 and where it came from."""

    factor: float
    pearson: float
    intervals: int
    family: Family = Family.BINOMIAL

    @property
    def is_reliable(self) -> bool:
        """Whether enough pre-run intervals went into the estimate."""
        return self.intervals >= MIN_INTERVALS

    @property
    def note(self) -> str:
        """The sentence reports print with a decision that used this factor."""
        text = (
            f"no per-user data (external totals): per-request {self.family} variance "
            f"x {self.factor:.2f}, overdispersion estimated from {self.intervals} "
            "pre-run intervals"
        )
        if not self.is_reliable:
            text += f" (fewer than {MIN_INTERVALS}: rough)"
        return text


def estimate_overdispersion(
    events: npt.ArrayLike,
    trials: npt.ArrayLike,
    family: Family = Family.BINOMIAL,
) -> Overdispersion:
    """φ from pre-run intervals: events (errors) and trials (requests) per interval.

    Intervals without trials are skipped. Returns φ = 1 when fewer than two
    intervals or no spread can be measured (p̂ of 0 or 1); raises StatsError for
    negative counts, mismatched shapes, or events above trials (binomial).
    """
    y = np.asarray(events, dtype=np.float64).ravel()
    n = np.asarray(trials, dtype=np.float64).ravel()
    if y.shape != n.shape:
        raise StatsError("events and trials need one value per interval each")
    if (y < 0).any() or (n < 0).any() or not np.isfinite(y).all():
        raise StatsError("interval totals must be finite and >= 0")
    if family is Family.BINOMIAL and (y > n).any():
        raise StatsError("an interval has more events than trials")
    used = n > 0
    y, n = y[used], n[used]
    m = int(y.size)
    total = float(n.sum())
    rate = float(y.sum()) / total if total > 0 else 0.0
    unit = rate * (1.0 - rate) if family is Family.BINOMIAL else rate
    if m < 2 or unit <= 0:
        return Overdispersion(1.0, float("nan"), m, family)
    pearson = float(np.sum((y - rate * n) ** 2 / (n * unit))) / (m - 1)
    return Overdispersion(max(1.0, pearson), pearson, m, family)


def arm_from_source(
    events: float, trials: float, overdispersion: Overdispersion
) -> ArmEstimate:
    """An arm from external totals, its per-request variance inflated by φ.

    The estimate's `per_user` is False and its `design_effect` is φ; add
    `overdispersion.note` to the decision's evidence.
    """
    return arm_from_totals(events, trials, overdispersion=overdispersion.factor)
