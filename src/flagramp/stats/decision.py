"""What a check concludes, and the evidence reports print."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from flagramp.core.severity import Severity


class GuardOutcome(StrEnum):
    """The state of one check for a stage, minute by minute."""

    HEALTHY = "healthy"
    """The data rule out harm as large as the plan must catch."""
    INCONCLUSIVE = "inconclusive"
    """Not yet known: neither harm nor its absence is established."""
    HARMFUL = "harmful"
    """The always-valid test found harm beyond the plan's limit."""


@dataclass(frozen=True, slots=True)
class Evidence:
    """Estimates, always-valid interval, sample sizes and the test used.

    `lower`/`upper` bound the compared quantity (the treatment's rate for absolute
    limits, treatment − reference otherwise), valid at every look; `statistic` is the
    log likelihood ratio (or χ², or a count) and `threshold` what it is compared with.
    """

    test: str
    estimate: float
    lower: float
    upper: float
    treatment_size: float
    alpha: float
    reference: float | None = None
    reference_size: float | None = None
    statistic: float = float("nan")
    threshold: float = float("nan")
    notes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class GuardDecision:
    """A check's outcome with the plan's severity passed through, and its evidence."""

    guard: str
    outcome: GuardOutcome
    severity: Severity
    evidence: Evidence

    @property
    def is_harmful(self) -> bool:
        """Whether the engine must act on this decision."""
        return self.outcome is GuardOutcome.HARMFUL
