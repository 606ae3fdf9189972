"""Promotion between environments (seed 004): the pure rules of one step.

A step promotes the flag configuration of the environment before it into its
own: snapshot the target, copy, verify, go/no-go, and on No-Go restore. This
module decides, without I/O: what the copy writes (`copy_writes`), what the
answers and probes make of the step (`step_outcome`), and which checklist items
overran their `expected_duration` (`overruns`). `engine.promotion_runner` does
the writes and runs the probes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from flagramp.core.errors import EngineError
from flagramp.core.flags import Flag, Segment
from flagramp.core.plans import Answer, ChecklistItem, Promotion, PromotionStep
from flagramp.engine.probes import ProbeResult


class PromotionError(EngineError):
    """A promotion step that cannot run as asked."""

    code = "promotion_error"

    def __init__(self, reason: str, *, code: str = "promotion_error") -> None:
        self.reason = reason
        self.code = code
        super().__init__(reason)


class StepOutcome(StrEnum):
    """What a step's verification and go/no-go decide."""

    GO = "go"
    NO_GO = "no_go"
    """Restore (`on_no_go: restore`) or stop."""
    HOLD = "hold"
    """A Pause, or no answer yet: the step waits, nothing is undone."""


@dataclass(frozen=True, slots=True)
class CopyWrites:
    """What copying the source's flag configuration into the target writes.

    Flags only in the target are left alone: a promotion brings the release's
    flags forward, it does not remove the target's own.
    """

    segments: tuple[Segment, ...]
    created: tuple[Flag, ...]
    changed: tuple[Flag, ...]

    @property
    def is_empty(self) -> bool:
        return not (self.segments or self.created or self.changed)


@dataclass(frozen=True, slots=True)
class Overrun:
    """A checklist item still running (or done) past its expected duration."""

    item: int
    text: str
    expected: dt.timedelta
    elapsed: dt.timedelta


def source_of(promotion: Promotion, environments: Sequence[str], step: int) -> str:
    """The environment step `step` promotes from: the previous step's, or for the
    first step the environment listed before its own; raises PromotionError."""
    if not 0 <= step < len(promotion.steps):
        raise PromotionError(f"the promotion has no step {step}", code="no_such_step")
    if step > 0:
        return promotion.steps[step - 1].environment
    target = promotion.steps[0].environment
    if target not in environments or environments.index(target) == 0:
        raise PromotionError(
            f"no environment comes before {target!r} to promote from",
            code="no_source_environment",
        )
    return environments[environments.index(target) - 1]


def copy_writes(
    source_flags: Iterable[Flag],
    source_segments: Mapping[str, Segment],
    target_flags: Iterable[Flag],
    target_segments: Mapping[str, Segment],
) -> CopyWrites:
    """The writes that make the target's flags (and the segments they use) equal
    the source's."""
    target = {f.key: f for f in target_flags}
    flags = sorted(source_flags, key=lambda f: f.key)
    used = {f.eligibility for f in flags if f.eligibility}
    segments = tuple(
        source_segments[name]
        for name in sorted(used)
        if name in source_segments
        and target_segments.get(name) != source_segments[name]
    )
    created = tuple(f for f in flags if f.key not in target)
    changed = tuple(f for f in flags if f.key in target and target[f.key] != f)
    return CopyWrites(segments, created, changed)


def step_outcome(
    step: PromotionStep, probes: Sequence[ProbeResult], answers: Sequence[Answer]
) -> StepOutcome:
    """Go, No-Go or hold, by the step's go/no-go answers and its probes.

    A Pivot is a No-Go; a Pause holds. Without a go/no-go the probes decide: all
    passing is Go, any failing a No-Go. With one, every answer must be Launch and
    the probes must pass for Go (a Launch on a failed verification holds: people
    are asked again with what failed).
    """
    if Answer.PIVOT in answers:
        return StepOutcome.NO_GO
    if Answer.PAUSE in answers:
        return StepOutcome.HOLD
    passed = all(p.ok for p in probes)
    if step.go_no_go is None:
        return StepOutcome.GO if passed else StepOutcome.NO_GO
    if not answers:
        return StepOutcome.HOLD
    return StepOutcome.GO if passed else StepOutcome.HOLD


def overruns(
    checklist: Sequence[ChecklistItem],
    started: Mapping[int, dt.datetime],
    done: Mapping[int, dt.datetime],
    now: dt.datetime,
) -> tuple[Overrun, ...]:
    """Items that took, or are taking, longer than their `expected_duration`."""
    out = []
    for i, item in enumerate(checklist):
        if item.expected_duration is None or i not in started:
            continue
        elapsed = done.get(i, now) - started[i]
        if elapsed > item.expected_duration.delta:
            out.append(Overrun(i, item.text, item.expected_duration.delta, elapsed))
    return tuple(out)
