"""What the controller observed of a run at one tick: the input of `machine.tick`.

`engine.evaluate.evaluate_stage` builds a `StageEvaluation` from the stage's
windows; the controller adds what it saw in the change feed and the sources.
"""

from __future__ import annotations

from dataclasses import dataclass

from flagramp.core.plans import Mode
from flagramp.core.types import Json
from flagramp.engine.checkpoint_result import CheckpointResult
from flagramp.stats import GuardDecision


@dataclass(frozen=True, slots=True)
class CheckResult:
    """One criterion's decision at this tick, with what it is allowed to do."""

    criterion: str
    """The criterion's label (`CompiledCheck.criterion`)."""
    metric: str | None
    mode: Mode
    acts: bool
    """Whether a failure acts by itself (not observe, not a UAT stage, and the
    run is not in observe mode)."""
    decision: GuardDecision

    def to_json(self) -> dict[str, Json]:
        """The result as the run log and the frozen evidence keep it."""
        return {
            "criterion": self.criterion,
            "metric": self.metric,
            "mode": self.mode.value,
            "acts": self.acts,
            "decision": self.decision.to_record(),  # type: ignore[dict-item]
        }


@dataclass(frozen=True, slots=True)
class DataHealth:
    """Whether the stage's evidence can be trusted this minute.

    `reason` is None when it can; otherwise it says why not in words (`no
    exposures since 10:42`, `source prometheus unavailable`, `sample ratio
    mismatch p=2e-05`). `since` is the epoch minute the problem began.
    """

    reason: str | None = None
    since: int | None = None
    srm: bool = False
    """A sample-ratio mismatch: pauses at once, it is no gap to wait out."""

    @property
    def ok(self) -> bool:
        return self.reason is None


@dataclass(frozen=True, slots=True)
class StageEvaluation:
    """A stage's evidence from its start until `minute` (epoch minutes)."""

    minute: int
    checks: tuple[CheckResult, ...]
    treatment_users: int
    """Distinct randomised treatment users exposed in the stage."""
    control_users: int
    allow_listed_users: int
    requests: int
    """Treatment requests counted by the stage's request metrics."""
    srm_p: float | None
    health: DataHealth
    fingerprints: tuple[dict[str, Json], ...] = ()
    """Treatment error fingerprints: name, count, first seen, samples, new."""
    latest_data_minute: int | None = None
    """The last minute with any window of the stage's flags."""

    @property
    def harmful(self) -> tuple[CheckResult, ...]:
        return tuple(c for c in self.checks if c.decision.is_harmful)

    @property
    def acting_healthy(self) -> bool:
        """Every acting criterion is healthy (observe-mode ones do not count)."""
        return all(c.decision.is_healthy for c in self.checks if c.acts)

    def to_json(self) -> dict[str, Json]:
        """The evaluation as stage results and frozen go/no-go evidence keep it."""
        return {
            "minute": self.minute,
            "checks": [c.to_json() for c in self.checks],
            "treatment_users": self.treatment_users,
            "control_users": self.control_users,
            "allow_listed_users": self.allow_listed_users,
            "requests": self.requests,
            "srm_p": self.srm_p,
            "health": {
                "reason": self.health.reason,
                "since": self.health.since,
                "srm": self.health.srm,
            },
            "fingerprints": list(self.fingerprints),
        }


@dataclass(frozen=True, slots=True)
class PhaseWatch:
    """An earlier phase's last-stage criteria, still watching its flags."""

    phase: int
    evaluation: StageEvaluation


@dataclass(frozen=True, slots=True)
class Observation:
    """Everything a tick knows besides the time."""

    evaluation: StageEvaluation | None
    """The current stage's evidence (None outside a running stage)."""
    watches: tuple[PhaseWatch, ...] = ()
    outside_changes: tuple[str, ...] = ()
    """Flags of the run changed by someone else since the last tick."""
    treatment_exposures_after: int | None = None
    """Treatment exposures counted since the last rollback's verification
    started (None: no verification pending)."""
    treatment_share_seen: float | None = None
    """The treatment share seen since a step back (for its verification)."""
    exposed_users_after: int | None = None
    """Randomised users (treatment and control) behind `treatment_share_seen`."""
    checkpoint: CheckpointResult | None = None
    """The due go-live checkpoint, computed by the controller
    (`machine.due_checkpoint` says which, over which span and scope)."""
