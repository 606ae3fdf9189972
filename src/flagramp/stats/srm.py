"""Sample-ratio mismatch: do the arms hold the users the split says they should?

A χ² goodness-of-fit test of users per arm against the configured shares; p < 0.001
pauses the run (the engine acts on it). Allow-listed (UAT) users were not randomised:
callers must not count them. Rationale for the tiny threshold: the check runs every
minute on cumulative counts, and a mismatch means a broken assignment or logging path,
which shows up as a large, persistent deviation, not a marginal one.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.stats import chi2

from flagramp.core.plans.criteria import Severity
from flagramp.errors import StatsError
from flagramp.stats.decision import Evidence, GuardDecision, Outcome

#: The p-value below which the sample ratio is declared mismatched.
SRM_THRESHOLD = 0.001


def srm_statistic(
    counts: Sequence[float], shares: Sequence[float]
) -> tuple[float, float]:
    """Pearson's χ² of `counts` against expected `shares`, and its p-value.

    Equals `scipy.stats.chisquare(counts, total · shares)`.
    """
    observed = np.asarray(counts, dtype=np.float64)
    expected_share = np.asarray(shares, dtype=np.float64)
    if observed.shape != expected_share.shape or observed.size < 2:
        raise StatsError("SRM needs one count and one share per arm, two arms or more")
    if np.any(expected_share <= 0) or not np.isclose(expected_share.sum(), 1.0):
        raise StatsError("SRM shares must be positive and sum to 1")
    total = float(observed.sum())
    if total <= 0:
        return 0.0, 1.0
    expected = total * expected_share
    stat = float(np.sum((observed - expected) ** 2 / expected))
    return stat, float(chi2.sf(stat, observed.size - 1))


def check_sample_ratio(
    counts: Sequence[float],
    shares: Sequence[float],
    *,
    name: str = "sample ratio",
    severity: Severity = Severity.HIGH,
    threshold: float = SRM_THRESHOLD,
) -> GuardDecision:
    """HARMFUL (pause the run) when the split's χ² p-value is below `threshold`.

    `counts` are randomised users per arm (control first), `shares` the split.
    """
    stat, p = srm_statistic(counts, shares)
    total = float(np.sum(counts))
    observed = float(counts[-1]) / total if total > 0 else float("nan")
    return GuardDecision(
        guard=name,
        outcome=Outcome.HARMFUL if p < threshold else Outcome.HEALTHY,
        severity=severity,
        evidence=Evidence(
            test="chi-squared sample-ratio test",
            estimate=observed,
            lower=observed,
            upper=observed,
            treatment_size=float(counts[-1]),
            alpha=threshold,
            reference=float(shares[-1]),
            reference_size=total,
            statistic=stat,
            threshold=threshold,
            notes=(f"p = {p:.3g}",),
        ),
    )
