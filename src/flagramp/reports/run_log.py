"""What a report reads from a run's log: stage periods, signatures, votes, answers.

The log is the engine's append-only list of events (`RunEvent`). The kinds and
data keys read here are listed in `docs/reports.md`; a kind not listed is shown
only in incident timelines. Positions are `phase` and `stage` indexes in the
event's data, as the engine writes them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from flagramp.core.types import Json
from flagramp.reports.run_record import RunEvent

#: A stage begins to run: data {phase, stage, percentage?}.
STAGE_ENTERED = frozenset({"stage_entered", "stepped_back", "re_enabled"})
#: The flags of the current phase leave their stage: data {phase?, stage?}.
STAGE_LEFT = frozenset(
    {
        "stage_completed",
        "phase_completed",
        "rolled_back",
        "killed",
        "aborted",
        "run_completed",
        "completed",
        "go_live",
    }
)
#: Flags go off for everyone (the rollout's percentage drops to 0).
FLAGS_OFF = frozenset({"rolled_back", "killed", "aborted"})
PREREQUISITE_SIGNED = frozenset({"prerequisite_signed"})
VOTED = frozenset({"vote", "voted", "go_no_go_answered"})
GO_NO_GO_ASKED = frozenset({"go_no_go_asked", "awaiting_go_no_go"})
ANSWERED = frozenset({"question_answered", "answered"})
WENT_LIVE = frozenset({"go_live", "went_live", "go_live_watching"})
MILESTONE_MET = frozenset({"milestone_met"})
#: Events whose data hold a stage evaluation (`evaluation`) or one check (`check`).
DECISIONS = frozenset(
    {
        "evaluated",
        "stage_evaluated",
        "stage_completed",
        "go_no_go_asked",
        "guard_harmful",
        "guard_healthy",
        "would_roll_back",
        "would_pause",
        "paused",
        "rolled_back",
    }
)


@dataclass(frozen=True, slots=True)
class StagePeriod:
    """One time a stage ran."""

    phase: int
    stage: int
    start: dt.datetime
    end: dt.datetime | None
    """None while it still runs."""
    ended_by: str | None
    percentage: float | None
    """The percentage the event gave, if it gave one."""


def position(event: RunEvent) -> tuple[int, int] | None:
    """The (phase, stage) an event names, if it names both."""
    phase, stage = event.data.get("phase"), event.data.get("stage")
    if _is_int(phase) and _is_int(stage):
        assert isinstance(phase, int) and isinstance(stage, int)
        return phase, stage
    return None


def stage_periods(events: Sequence[RunEvent]) -> tuple[StagePeriod, ...]:
    """Every time a stage ran, in order: entered until the next move or the end."""
    periods: list[StagePeriod] = []
    current: StagePeriod | None = None
    for event in events:
        entered = event.kind in STAGE_ENTERED and position(event) is not None
        if current is not None and (entered or event.kind in STAGE_LEFT):
            periods.append(_ended(current, event))
            current = None
        if entered:
            where = position(event)
            assert where is not None
            pct = event.data.get("percentage")
            current = StagePeriod(
                where[0],
                where[1],
                event.at,
                None,
                None,
                float(pct) if isinstance(pct, int | float) else None,
            )
    if current is not None:
        periods.append(current)
    return tuple(periods)


def _ended(period: StagePeriod, event: RunEvent) -> StagePeriod:
    return StagePeriod(
        period.phase,
        period.stage,
        period.start,
        event.at,
        event.kind,
        period.percentage,
    )


def of_kind(events: Iterable[RunEvent], kinds: frozenset[str]) -> list[RunEvent]:
    """The events of these kinds, in log order."""
    return [e for e in events if e.kind in kinds]


def last_checks(
    events: Iterable[RunEvent], phase: int, stage: int
) -> dict[str, Mapping[str, Json]]:
    """Criterion label → the last check result the log holds for this stage.

    A check result is `engine.evaluation.CheckResult.to_json()`; an evaluation
    (`StageEvaluation.to_json()`) holds a list of them under `checks`.
    """
    found: dict[str, Mapping[str, Json]] = {}
    for event in events:
        if event.kind not in DECISIONS or position(event) != (phase, stage):
            continue
        for check in _checks_of(event.data):
            label = check.get("criterion")
            if isinstance(label, str):
                found[label] = check
    return found


def last_health(events: Iterable[RunEvent], phase: int, stage: int) -> str | None:
    """The data-health reason of the stage's last recorded evaluation.

    Returns "" when the last evaluation said the data were healthy, None when
    the log holds no evaluation of the stage.
    """
    reason: str | None = None
    for event in events:
        if event.kind not in DECISIONS or position(event) != (phase, stage):
            continue
        evaluation = event.data.get("evaluation")
        if isinstance(evaluation, dict):
            health = evaluation.get("health")
            if isinstance(health, dict):
                said = health.get("reason")
                reason = said if isinstance(said, str) else ""
    return reason


def _checks_of(data: Mapping[str, Json]) -> list[Mapping[str, Json]]:
    out: list[Mapping[str, Json]] = []
    evaluation = data.get("evaluation")
    if isinstance(evaluation, dict):
        checks = evaluation.get("checks")
        if isinstance(checks, list):
            out += [c for c in checks if isinstance(c, dict)]
    check = data.get("check")
    if isinstance(check, dict):
        out.append(check)
    return out


def text_of(data: Mapping[str, Json], *keys: str) -> str:
    """The first of `keys` that holds a non-empty string, or ""."""
    for key in keys:
        value = data.get(key)
        if isinstance(value, str) and value:
            return value
    return ""


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
