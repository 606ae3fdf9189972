"""Sample-ratio mismatch: do the arms hold the users the split says they should?

A χ² goodness-of-fit test of users per arm against the configured shares; p < 0.001
pauses the run (the engine acts on it). Allow-listed (UAT) users were not randomised:
callers must not count them.

Checked every minute on cumulative counts, "p < 0.001 at some look" happens far more
often than 0.1 % (2.3 % of healthy 120-minute stages in bench/stats_sim.py). So the
decision uses the always-valid version by default: a two-sided normal-mixture SPRT on
the treatment's share of users at α = 0.001 (`sequential=True`), tuned to a 10 %
relative imbalance; the χ² statistic and its p-value are still reported.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.stats import chi2

from flagramp.core.errors import StatsError
from flagramp.core.severity import Severity
from flagramp.stats.decision import Evidence, GuardDecision, GuardOutcome
from flagramp.stats.sequential import mixing_variance

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


def srm_log_ratio(
    treatment: float,
    total: float,
    share: float,
    *,
    alpha: float = SRM_THRESHOLD,
    relative_mde: float = 0.1,
) -> float:
    """Log of the two-sided normal-mixture ratio for "treatment's share = share".

    S = treatment/total − share with V = share (1 − share) / total, mixing variance
    tuned to an imbalance of `relative_mde` · share. Crossing ln(1/α) at any look has
    probability ≤ α under a correct split (Ville's inequality).
    """
    if total <= 0:
        return 0.0
    v = share * (1.0 - share) / total
    tau2 = mixing_variance(relative_mde * share, alpha)
    excess = treatment / total - share
    return float(
        0.5 * np.log(v / (v + tau2)) + tau2 * excess**2 / (2.0 * v * (v + tau2))
    )  # fmt: skip


def check_sample_ratio(
    counts: Sequence[float],
    shares: Sequence[float],
    *,
    name: str = "sample ratio",
    severity: Severity = Severity.HIGH,
    threshold: float = SRM_THRESHOLD,
    sequential: bool = True,
) -> GuardDecision:
    """HARMFUL (pause the run) when the split is off at level `threshold`.

    `counts` are randomised users per arm (control first), `shares` the split. With
    `sequential` (two arms), the always-valid mixture test decides; otherwise the
    χ² p-value at this look, as in a one-off check.
    """
    stat, p = srm_statistic(counts, shares)
    total = float(np.sum(counts))
    observed = float(counts[-1]) / total if total > 0 else float("nan")
    if sequential and len(counts) == 2:
        log_lr = srm_log_ratio(float(counts[-1]), total, float(shares[-1]),
                               alpha=threshold)  # fmt: skip
        mismatch = log_lr >= float(np.log(1.0 / threshold))
        test = "always-valid sample-ratio test (normal mixture)"
    else:
        mismatch = p < threshold
        test = "chi-squared sample-ratio test"
    return GuardDecision(
        guard=name,
        outcome=GuardOutcome.HARMFUL if mismatch else GuardOutcome.HEALTHY,
        severity=severity,
        evidence=Evidence(
            test=test,
            estimate=observed,
            lower=observed,
            upper=observed,
            treatment_size=float(counts[-1]),
            alpha=threshold,
            reference=float(shares[-1]),
            reference_size=total,
            statistic=stat,
            threshold=threshold,
            notes=(f"chi-squared {stat:.3g}, p = {p:.3g} at this look",),
        ),
    )
