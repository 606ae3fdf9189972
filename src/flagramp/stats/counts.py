"""Count limits: "contact-center calls < 2" counts events per stage in treatment."""

from __future__ import annotations

from dataclasses import dataclass

from flagramp.core.errors import StatsError
from flagramp.core.severity import Severity
from flagramp.stats.decision import Evidence, GuardDecision, GuardOutcome


@dataclass(frozen=True, slots=True)
class CountLimit:
    """The count of an event in treatment over the stage must stay below `limit`."""

    name: str
    limit: int
    severity: Severity = Severity.HIGH

    def __post_init__(self) -> None:
        if self.limit < 1:
            raise StatsError("a count limit must be at least 1")


def evaluate_count_limit(limit: CountLimit, count: int) -> GuardDecision:
    """HARMFUL once `count` (treatment, this stage) reaches the limit, else HEALTHY.

    Rationale: a count limit is a rule about observed events, not an inference, so it
    spends no α; "healthy" means "below the limit so far".
    """
    if count < 0:
        raise StatsError("a count cannot be negative")
    outcome = GuardOutcome.HARMFUL if count >= limit.limit else GuardOutcome.HEALTHY
    return GuardDecision(
        guard=limit.name,
        outcome=outcome,
        severity=limit.severity,
        evidence=Evidence(
            test="count limit per stage in treatment",
            estimate=float(count),
            lower=float(count),
            upper=float(count),
            treatment_size=float(count),
            alpha=0.0,
            statistic=float(count),
            threshold=float(limit.limit),
            notes=(f"{count} of < {limit.limit} allowed",),
        ),
    )
