"""Splitting a stage's α between its guards.

Each guard is valid at its own share under continuous monitoring, so by the union
bound the probability that any guard of a healthy stage fires stays ≤ Σ shares = α.
The sample-ratio check is not part of the split: it uses its own fixed threshold
(p < 0.001) and pauses rather than rolls back; count limits spend no α.
"""

from __future__ import annotations

from collections.abc import Mapping

from flagramp.core.errors import StatsError


def split_alpha(alpha: float, weights: Mapping[str, float]) -> dict[str, float]:
    """Each guard's share of `alpha`, proportional to its weight (Bonferroni).

    >>> split_alpha(0.05, {"error rate": 1, "new errors": 1})
    {'error rate': 0.025, 'new errors': 0.025}
    """
    if not 0.0 < alpha < 1.0:
        raise StatsError("alpha must be strictly between 0 and 1")
    if not weights or any(w <= 0 for w in weights.values()):
        raise StatsError("every guard needs a positive weight")
    total = sum(weights.values())
    return {name: alpha * w / total for name, w in weights.items()}
