"""What the next tick needs of this tick's decisions, kept in the run's state.

A ratio guard combines each look with the earlier ones (`stats.guards`): a
harm once shown stays shown, and the always-valid lower bound is the running
maximum of every look's. Kept in the controller's memory, a restarted
controller started the looks afresh and could decide otherwise than one that
was never stopped (a harm shown once, then hidden by a noisier minute). So the
controller writes each criterion's decision (guard, outcome, interval) into
`RunState.looks` at every tick, for the stage attempt's ingest scope, and the
next tick, in this process or another, reads it back from there.

What `evaluate_ratio_guard(previous=...)` reads is kept: the guard's name,
the outcome and the interval (non-finite bounds as the strings "inf", "-inf",
"nan", as `stats.decision` records do); the rebuilt decision carries nothing
else. For the dashboard's guard charts, which would otherwise move only when
the run's log grows, each look also keeps its estimate and reference, and the
stage's looks the epoch minute they were evaluated at: a point a chart can
draw. That is all: it is written every tick for every run that moved.

The minute alone does not make new looks (`StageLooks.same_evidence`): a tick
whose evidence is what the last one's was keeps the stored looks, minute and
all, so a run without new windows is not rewritten every minute.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from flagramp.core.severity import Severity
from flagramp.core.types import Json
from flagramp.engine.evaluation import StageEvaluation
from flagramp.engine.run_records import RunStateInvalid
from flagramp.stats import Evidence, GuardDecision, GuardOutcome

__all__ = ["Look", "StageLooks"]

_NON_FINITE = {"inf": math.inf, "-inf": -math.inf, "nan": math.nan}


@dataclass(frozen=True, slots=True)
class Look:
    """One criterion's decision at the last tick, as the next one needs it."""

    guard: str
    outcome: GuardOutcome
    severity: Severity
    lower: float
    upper: float
    estimate: float = math.nan
    """The criterion's estimate (nan in looks stored before it was kept)."""
    reference: float | None = None
    """What the estimate is compared with, if anything."""

    def decision(self) -> GuardDecision:
        """A decision `evaluate_ratio_guard` takes as `previous`."""
        return GuardDecision(
            guard=self.guard,
            outcome=self.outcome,
            severity=self.severity,
            evidence=Evidence(
                test="the previous tick's look",
                estimate=math.nan,
                lower=self.lower,
                upper=self.upper,
                treatment_size=0.0,
                alpha=math.nan,
            ),
        )

    def to_json(self) -> dict[str, Json]:
        document: dict[str, Json] = {
            "guard": self.guard,
            "outcome": self.outcome.value,
            "severity": self.severity.value,
            "lower": _number(self.lower),
            "upper": _number(self.upper),
            "estimate": _number(self.estimate),
        }
        if self.reference is not None:  # kept small: written every tick
            document["reference"] = _number(self.reference)
        return document

    @classmethod
    def from_json(cls, document: Mapping[str, object]) -> Look:
        guard, outcome, severity = (
            document.get("guard"),
            document.get("outcome"),
            document.get("severity"),
        )
        if not (
            isinstance(guard, str)
            and isinstance(outcome, str)
            and isinstance(severity, str)
        ):
            raise RunStateInvalid("looks", "a look needs its guard, outcome, severity")
        reference = document.get("reference")
        try:
            return cls(
                guard,
                GuardOutcome(outcome),
                Severity(severity),
                _float(document.get("lower")),
                _float(document.get("upper")),
                _float(document.get("estimate", "nan")),
                None if reference is None else _float(reference),
            )
        except ValueError as exc:
            raise RunStateInvalid("looks", str(exc)) from exc


@dataclass(frozen=True, slots=True)
class StageLooks:
    """The last tick's decisions of one stage attempt (its ingest scope)."""

    scope: str
    criteria: tuple[tuple[str, Look], ...] = ()
    minute: int | None = None
    """The epoch minute of the evaluation (None in looks stored before it was
    kept)."""

    @classmethod
    def of(cls, scope: str, evaluation: StageEvaluation) -> StageLooks:
        """The looks of an evaluation of the attempt whose scope is `scope`."""
        return cls(
            scope,
            tuple(
                (
                    c.criterion,
                    Look(
                        c.decision.guard,
                        c.decision.outcome,
                        c.decision.severity,
                        c.decision.evidence.lower,
                        c.decision.evidence.upper,
                        c.decision.evidence.estimate,
                        c.decision.evidence.reference,
                    ),
                )
                for c in evaluation.checks
            ),
            evaluation.minute,
        )

    def same_evidence(self, other: StageLooks | None) -> bool:
        """Whether `other` holds the same decisions and figures for the same
        attempt, whatever its minute (nan equal to nan)."""
        if other is None or other.scope != self.scope:
            return False
        return [(c, look.to_json()) for c, look in self.criteria] == [
            (c, look.to_json()) for c, look in other.criteria
        ]

    def previous(self, scope: str) -> dict[str, GuardDecision]:
        """`evaluate_stage(previous=...)` for the attempt `scope` (nothing for
        another attempt: a new attempt starts its looks afresh)."""
        if scope != self.scope:
            return {}
        return {criterion: look.decision() for criterion, look in self.criteria}

    def to_json(self) -> dict[str, Json]:
        document: dict[str, Json] = {
            "scope": self.scope,
            "criteria": {
                criterion: look.to_json() for criterion, look in self.criteria
            },
        }
        if self.minute is not None:
            document["minute"] = self.minute
        return document

    @classmethod
    def from_json(cls, document: Mapping[str, object]) -> StageLooks:
        scope, criteria = document.get("scope"), document.get("criteria")
        if not isinstance(scope, str) or not isinstance(criteria, Mapping):
            raise RunStateInvalid("looks", "needs a scope and its criteria")
        minute = document.get("minute")
        if minute is not None and (
            isinstance(minute, bool) or not isinstance(minute, int)
        ):
            raise RunStateInvalid("looks", "the minute is not an integer")
        looks = []
        for criterion, look in criteria.items():
            if not isinstance(look, Mapping):
                raise RunStateInvalid("looks", f"{criterion!r} is not an object")
            looks.append((str(criterion), Look.from_json(look)))
        return cls(scope, tuple(looks), minute)


def _number(x: float) -> float | str:
    if math.isfinite(x):
        return x
    return "nan" if math.isnan(x) else ("inf" if x > 0 else "-inf")


def _float(x: object) -> float:
    if isinstance(x, str) and x in _NON_FINITE:
        return _NON_FINITE[x]
    if isinstance(x, int | float) and not isinstance(x, bool):
        return float(x)
    raise ValueError(f"not a number: {x!r}")
