"""What a compiled stage is: frozen values the engine and the statistics run.

`engine.compile` builds them from a plan; see docs/plans.md ("Compiling to
guards").
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass

from flagramp.core.errors import EngineError
from flagramp.core.flags import Percentage
from flagramp.core.plans import Baseline, Duration, GoNoGo, Mode
from flagramp.core.severity import Severity
from flagramp.stats import CountLimit, NoveltyBudget, RatioGuard


class CompileError(EngineError):
    """A plan criterion cannot be turned into a guard (the validator should
    have refused the plan; this names what it let through)."""

    code = "compile_error"

    def __init__(self, where: str, detail: str) -> None:
        self.where, self.detail = where, detail
        super().__init__(f"{where}: {detail}")


@dataclass(frozen=True, slots=True)
class CompiledRatio:
    """An absolute, control or baseline criterion as a ratio guard."""

    criterion: str
    """The criterion's label."""
    metric: str
    mode: Mode
    acts: bool
    guard: RatioGuard
    relative: bool = False
    """`guard.limit` and `guard.mde` are fractions of the reference (unit:
    percent against the baseline): use `guard_for(reference)`."""
    baseline: Baseline | None = None
    """Where the reference comes from, for baseline comparisons."""

    def guard_for(self, reference: float | None = None) -> RatioGuard:
        """The guard to evaluate, given the reference rate (the baseline's).

        Raises CompileError when a relative tolerance has no usable reference.
        """
        if not self.relative:
            return self.guard
        if reference is None or not reference > 0 or not math.isfinite(reference):
            raise CompileError(
                self.criterion,
                f"a percent tolerance needs a baseline above 0, got {reference!r}",
            )
        return dataclasses.replace(
            self.guard,
            limit=self.guard.limit * reference,
            mde=self.guard.mde * reference,
        )


@dataclass(frozen=True, slots=True)
class CompiledCount:
    """A count criterion as a count limit for this stage."""

    criterion: str
    metric: str
    mode: Mode
    acts: bool
    limit: CountLimit
    environment_level: bool
    """The events carry no actor: count the whole environment, not treatment."""
    resets_after_step_back: bool


@dataclass(frozen=True, slots=True)
class CompiledNovelty:
    """A new-error-class criterion; the budget needs the baseline's fingerprints."""

    criterion: str
    mode: Mode
    acts: bool
    alpha: float
    share: float
    severity: Severity
    event: str | None
    """Only this request's fingerprints count (None: every request)."""
    fingerprints: int | None
    """F fixed by the plan, or None to take it from the baseline."""
    min_users: int
    """The plan's floor on k (distinct treatment users)."""

    def budget(self, baseline_counts: Mapping[str, int] | None = None) -> NoveltyBudget:
        """The novelty budget: F from the plan, else from the baseline's counts."""
        if self.fingerprints is not None:
            return NoveltyBudget(self.alpha, self.share, self.fingerprints)
        return NoveltyBudget.from_baseline(
            baseline_counts or {}, alpha=self.alpha, share=self.share
        )


CompiledCheck = CompiledRatio | CompiledCount | CompiledNovelty


@dataclass(frozen=True, slots=True)
class FlagSetting:
    """What a flag is set to at a stage."""

    flag: str
    percentage: Percentage
    """Percentage of actors within the eligible segment (after the holdback)."""
    bucket_key: str
    """The key actors are bucketed on: the phase's first flag with shared users."""
    eligible: str | None
    allow_list: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class CompiledStage:
    """One stage, ready for the engine and the statistics."""

    phase: str
    stage: str
    phase_index: int
    stage_index: int
    flags: tuple[FlagSetting, ...]
    treatment_share: float
    allow_list_only: bool
    hold: Duration
    max_time: Duration
    min_sample: int | None
    min_requests: int | None
    alpha: float
    beta: float
    checks: tuple[CompiledCheck, ...]
    go_no_go: GoNoGo | None
