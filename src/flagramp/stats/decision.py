"""What a check concludes, the evidence reports print, and its stored form.

A run's last decision per guard is persisted between ticks (`to_record` /
`from_record`), so that a controller that restarts passes the same `previous` to the
next evaluation and a harmful result stays harmful. Records are plain JSON (no NaN
or infinity literals: non-finite floats are written as strings) and round-trip
exactly: floats are written with `repr`, which Python reads back bit for bit.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import TypeVar

from flagramp.core.errors import StatsError
from flagramp.core.severity import Severity

#: Version of the record layout; `from_record` refuses others.
RECORD_FORMAT = 1

#: A decision as JSON-able data.
DecisionRecord = dict[str, object]

_NON_FINITE = {"inf": math.inf, "-inf": -math.inf, "nan": math.nan}


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
    limits, treatment − reference otherwise), valid at every look: `lower` at level
    `alpha`, `upper` at level `beta` where a check has one. `statistic` is the log
    likelihood ratio of harm (or χ², or a count) and `threshold` what it is compared
    with; `healthy_statistic` and `healthy_threshold` the same for "healthy".
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
    beta: float | None = None
    healthy_statistic: float = float("nan")
    healthy_threshold: float = float("nan")


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

    @property
    def is_healthy(self) -> bool:
        """Whether the data rule out the harm the plan must catch."""
        return self.outcome is GuardOutcome.HEALTHY

    def to_record(self) -> DecisionRecord:
        """The decision as JSON-able data (`json.dumps(..., allow_nan=False)` works)."""
        e = self.evidence
        return {
            "format": RECORD_FORMAT,
            "guard": self.guard,
            "outcome": self.outcome.value,
            "severity": self.severity.value,
            "evidence": {
                "test": e.test,
                "estimate": _number(e.estimate),
                "lower": _number(e.lower),
                "upper": _number(e.upper),
                "treatment_size": _number(e.treatment_size),
                "alpha": _number(e.alpha),
                "reference": None if e.reference is None else _number(e.reference),
                "reference_size": (
                    None if e.reference_size is None else _number(e.reference_size)
                ),
                "statistic": _number(e.statistic),
                "threshold": _number(e.threshold),
                "notes": list(e.notes),
                "beta": None if e.beta is None else _number(e.beta),
                "healthy_statistic": _number(e.healthy_statistic),
                "healthy_threshold": _number(e.healthy_threshold),
            },
        }

    @classmethod
    def from_record(cls, record: Mapping[str, object]) -> GuardDecision:
        """The decision `to_record` wrote; raises StatsError naming a bad field."""
        if record.get("format") != RECORD_FORMAT:
            raise StatsError(f"unknown decision record format {record.get('format')!r}")
        e = record.get("evidence")
        if not isinstance(e, Mapping):
            raise StatsError("decision record field 'evidence' must be an object")
        notes = e.get("notes")
        if not isinstance(notes, list) or not all(isinstance(n, str) for n in notes):
            raise StatsError("decision record field 'evidence.notes' must be strings")
        return cls(
            guard=_text(record, "guard"),
            outcome=_choice(GuardOutcome, record, "outcome"),
            severity=_choice(Severity, record, "severity"),
            evidence=Evidence(
                test=_text(e, "test", "evidence."),
                estimate=_float(e, "estimate"),
                lower=_float(e, "lower"),
                upper=_float(e, "upper"),
                treatment_size=_float(e, "treatment_size"),
                alpha=_float(e, "alpha"),
                reference=_optional_float(e, "reference"),
                reference_size=_optional_float(e, "reference_size"),
                statistic=_float(e, "statistic"),
                threshold=_float(e, "threshold"),
                notes=tuple(notes),
                beta=_optional_float(e, "beta"),
                healthy_statistic=_float(e, "healthy_statistic"),
                healthy_threshold=_float(e, "healthy_threshold"),
            ),
        )


def _number(x: float) -> float | str:
    if math.isfinite(x):
        return float(x)
    return "nan" if math.isnan(x) else ("inf" if x > 0 else "-inf")


def _text(m: Mapping[str, object], key: str, prefix: str = "") -> str:
    value = m.get(key)
    if not isinstance(value, str):
        raise StatsError(f"decision record field {prefix + key!r} must be a string")
    return value


_E = TypeVar("_E", GuardOutcome, Severity)


def _choice(kind: type[_E], m: Mapping[str, object], key: str) -> _E:
    value = m.get(key)
    try:
        return kind(str(value))
    except ValueError:
        raise StatsError(
            f"decision record field {key!r} has an unknown value {value!r}"
        ) from None


def _float(m: Mapping[str, object], key: str) -> float:
    value = m.get(key)
    if isinstance(value, str) and value in _NON_FINITE:
        return _NON_FINITE[value]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise StatsError(f"decision record field 'evidence.{key}' must be a number")
    return float(value)


def _optional_float(m: Mapping[str, object], key: str) -> float | None:
    return None if m.get(key) is None else _float(m, key)
