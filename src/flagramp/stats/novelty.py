"""New error classes (seed 003): a fingerprint only treatment users hit.

Rule: a fingerprint seen in treatment from at least k **distinct users**, never in
control nor in the pre-run baseline, is harmful. Under "the flag changes nothing",
each distinct user who hits a fingerprint is in treatment with probability s (the
treatment share), so a fingerprint's first k users all land in treatment with
probability s^k; F such fingerprints give at most F·s^k false alarms (union bound).

F is fixed in advance from the baseline: the fingerprints the baseline has not seen
(Chao1's unseen-species estimate from its singletons and doubletons) plus a margin.
The first F new fingerprints, in order of first appearance (which does not depend on
the arm), share (1 − reserve)·α; later ones spend the reserve, the j-th one beyond F
getting reserve·α / ((j − F)(j − F + 1)), a series summing to reserve·α. So α holds
whatever F turns out to be; F only affects how soon the rule fires.

Distinct users, not events: one user retrying one failing request 50 times counts once.
Above the share where k would exceed `max_users`, the rule is too weak to be useful
and is switched off: the holdback and the pre-run baseline carry the comparison, and
the decision says so.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from flagramp.core.errors import StatsError
from flagramp.core.severity import Severity
from flagramp.stats.decision import Evidence, GuardDecision, GuardOutcome

IntArray = npt.NDArray[np.int64]


def users_needed(fingerprints: float, share: float, alpha: float) -> int:
    """The smallest k with fingerprints · share^k ≤ alpha."""
    if not (0.0 < share < 1.0 and 0.0 < alpha < 1.0 and fingerprints > 0):
        raise StatsError("k needs 0 < share < 1, 0 < alpha < 1 and fingerprints > 0")
    # Rationale: a relative tolerance so that exact cases (200 · 0.05³ = 0.025) are
    # not pushed up a user by floating-point rounding.
    limit = alpha * (1.0 + 1e-9)
    k = max(1, math.ceil(math.log(alpha / fingerprints) / math.log(share)))
    while fingerprints * share**k > limit:
        k += 1
    while k > 1 and fingerprints * share ** (k - 1) <= limit:
        k -= 1
    return k


def unseen_fingerprints(baseline_counts: Mapping[str, int]) -> float:
    """Chao1's estimate of fingerprints the baseline has not seen.

    f1² / (2 f2) from the fingerprints seen once (f1) and twice (f2);
    f1 (f1 − 1) / 2 when none was seen twice.
    """
    f1 = sum(1 for c in baseline_counts.values() if c == 1)
    f2 = sum(1 for c in baseline_counts.values() if c == 2)
    return f1 * f1 / (2.0 * f2) if f2 > 0 else f1 * (f1 - 1) / 2.0


@dataclass(frozen=True, slots=True)
class NoveltyBudget:
    """The novelty rule's α share and how it is spent over new fingerprints."""

    alpha: float
    share: float
    planned: int
    reserve: float = 0.1
    max_users: int = 10

    def __post_init__(self) -> None:
        if not (0.0 < self.alpha < 1 and 0.0 < self.share < 1 and self.planned >= 1):
            raise StatsError("novelty needs 0 < alpha, share < 1 and planned >= 1")
        if not 0.0 < self.reserve < 1.0:
            raise StatsError("the reserve must be strictly between 0 and 1")

    @classmethod
    def from_baseline(
        cls,
        baseline_counts: Mapping[str, int],
        *,
        alpha: float,
        share: float,
        margin: float = 0.5,
        minimum: int = 20,
    ) -> NoveltyBudget:
        """F = max(minimum, (1 + margin) · unseen-species estimate), rounded up."""
        unseen = unseen_fingerprints(baseline_counts)
        return cls(alpha, share, max(minimum, math.ceil((1.0 + margin) * unseen)))

    def alpha_for(self, order: int) -> float:
        """The α spent on the `order`-th new fingerprint (1-based)."""
        if order < 1:
            raise StatsError("fingerprint order starts at 1")
        if order <= self.planned:
            return (1.0 - self.reserve) * self.alpha / self.planned
        j = order - self.planned
        return self.reserve * self.alpha / (j * (j + 1))

    def users_for(self, order: int) -> int:
        """Distinct treatment users the `order`-th new fingerprint needs."""
        return users_needed(1.0, self.share, self.alpha_for(order))

    def thresholds(self, count: int) -> IntArray:
        """`users_for(1..count)` as an array, for vectorised evaluation."""
        return np.array([self.users_for(j) for j in range(1, count + 1)], np.int64)

    @property
    def holds(self) -> bool:
        """Whether the rule can hold α at this share with at most `max_users`."""
        return self.users_for(1) <= self.max_users


@dataclass(frozen=True, slots=True)
class FingerprintTally:
    """One fingerprint over the stage: distinct users per arm, first-seen key.

    `first_seen` orders new fingerprints (a minute number or timestamp as float);
    ties are broken by name, never by arm.
    """

    fingerprint: str
    treatment_users: int
    control_users: int
    first_seen: float


def evaluate_novelty(
    budget: NoveltyBudget,
    tallies: Collection[FingerprintTally],
    baseline: Collection[str],
    *,
    name: str = "new error classes",
    severity: Severity = Severity.HIGH,
) -> GuardDecision:
    """HARMFUL when a new fingerprint reaches its k treatment users, none in control.

    Fingerprints in `baseline` (seen before the run) never count. Returns HEALTHY
    when none qualifies, INCONCLUSIVE when the rule cannot hold α at this share.
    """
    seen_before = set(baseline)
    new = sorted(
        (t for t in tallies if t.fingerprint not in seen_before),
        key=lambda t: (t.first_seen, t.fingerprint),
    )
    notes: list[str] = []
    hits: list[FingerprintTally] = []
    for order, tally in enumerate(new, start=1):
        k = budget.users_for(order)
        if tally.control_users == 0 and tally.treatment_users >= k:
            hits.append(tally)
            notes.append(
                f"{tally.fingerprint}: {tally.treatment_users} treatment users "
                f"(k = {k}), none in control or baseline"
            )
    if not budget.holds:
        outcome = GuardOutcome.INCONCLUSIVE
        notes.insert(
            0,
            f"novelty rule off at treatment share {budget.share:g}: it would need "
            f"{budget.users_for(1)} users; relying on holdback and pre-run baseline",
        )
    else:
        outcome = GuardOutcome.HARMFUL if hits else GuardOutcome.HEALTHY
    top = max((t.treatment_users for t in hits), default=0)
    return GuardDecision(
        guard=name,
        outcome=outcome,
        severity=severity,
        evidence=Evidence(
            test="new fingerprint in treatment only (distinct users)",
            estimate=float(len(hits)),
            lower=float(len(hits)),
            upper=float(len(hits)),
            treatment_size=float(len(new)),
            alpha=budget.alpha,
            statistic=float(top),
            threshold=float(budget.users_for(1)),
            notes=tuple(notes),
        ),
    )
