"""What a report reads from a run's log: stage periods, gates, votes, decisions.

The log is the engine's append-only list of events (`RunEvent`), with the kinds
and data `docs/engine.md` lists. Some events name their place (`stage_entered`
has `phase` and `stage`); others happen where the run is (`voted` belongs to
the go/no-go last asked, `go_no_go_asked` to the current stage). `locate` walks
the log once and gives every event its phase, stage and gate.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

from flagramp.core.types import Json
from flagramp.reports.run_record import RunEvent

PHASE_STARTED = frozenset({"phase_started", "manual_phase_started"})
#: A stage begins to run: data {phase, stage, percentage?}.
STAGE_ENTERED = frozenset({"stage_entered"})
#: The current stage stops running (its flags move on, back or off).
STAGE_LEFT = frozenset(
    {
        "stage_left",
        "phase_completed",
        "rolled_back",
        "killed",
        "aborted",
        "completed",
        "went_live",
        "go_live",
    }
)
#: The rollout's flags go off for everyone, or move back.
FLAGS_OFF = frozenset({"rolled_back", "killed"})
PREREQUISITE_SIGNED = frozenset({"prerequisite_signed"})
GO_NO_GO_ASKED = frozenset({"go_no_go_asked"})
VOTED = frozenset({"voted"})
#: The gate in force is over.
GATE_CLOSED = frozenset({"go_no_go_passed", *STAGE_ENTERED, *STAGE_LEFT, "paused"})
ANSWERED = frozenset({"question_answered"})
WENT_LIVE = frozenset({"went_live", "go_live"})
MILESTONE_MET = frozenset({"milestone_met"})
#: Events whose data hold one check (`decision`: a `CheckResult`'s JSON).
HARM = frozenset({"guard_harmful", "would_pause", "would_roll_back"})


@dataclass(frozen=True, slots=True)
class Gate:
    """A go/no-go as the run asked it: where, which kind, which of them."""

    phase: int | None
    stage: int | None
    kind: str
    """`entry`, `exit` or `undecided` (the engine's gate kinds)."""
    index: int


@dataclass(frozen=True, slots=True)
class Located:
    """An event with the place in the run it happened at."""

    event: RunEvent
    phase: int | None
    stage: int | None
    gate: Gate | None
    """The go/no-go being asked when the event happened."""


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


def locate(events: Iterable[RunEvent]) -> tuple[Located, ...]:
    """Every event with its phase, stage and the gate in force."""
    phase: int | None = None
    stage: int | None = None
    gate: Gate | None = None
    out = []
    for event in events:
        data = event.data
        if event.kind in PHASE_STARTED and _is_int(data.get("phase")):
            phase, stage, gate = _int(data["phase"]), None, None
        elif event.kind in STAGE_ENTERED and position(event) is not None:
            phase, stage = position(event) or (phase, stage)
            gate = None
        elif event.kind in GO_NO_GO_ASKED:
            index = data.get("index")
            gate = Gate(
                phase,
                stage,
                text_of(data, "kind") or "exit",
                _int(index) if _is_int(index) else 0,
            )
        where = position(event)
        out.append(
            Located(
                event,
                where[0] if where else phase,
                where[1] if where else stage,
                gate,
            )
        )
        if event.kind in GATE_CLOSED:
            gate = None
    return tuple(out)


def position(event: RunEvent) -> tuple[int, int] | None:
    """The (phase, stage) an event names, if it names both."""
    phase, stage = event.data.get("phase"), event.data.get("stage")
    if _is_int(phase) and _is_int(stage):
        return _int(phase), _int(stage)
    return None


def stage_periods(events: Sequence[RunEvent]) -> tuple[StagePeriod, ...]:
    """Every time a stage ran, in order: entered until the next move or the end."""
    periods: list[StagePeriod] = []
    current: StagePeriod | None = None
    for event in events:
        entered = event.kind in STAGE_ENTERED and position(event) is not None
        if current is not None and (entered or event.kind in STAGE_LEFT):
            periods.append(
                StagePeriod(
                    current.phase,
                    current.stage,
                    current.start,
                    event.at,
                    event.kind,
                    current.percentage,
                )
            )
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


def of_kind(events: Iterable[RunEvent], kinds: frozenset[str]) -> list[RunEvent]:
    """The events of these kinds, in log order."""
    return [e for e in events if e.kind in kinds]


def evaluations(
    located: Iterable[Located], state: Mapping[str, Json], phase: int, stage: int
) -> list[tuple[dt.datetime | None, Mapping[str, Json]]]:
    """The stage's recorded evaluations (`StageEvaluation.to_json()`) with when
    they were recorded, oldest first.

    From the evidence frozen when a go/no-go was asked, and from the state's
    `stage_results` (what the engine keeps of each stage it left, at `left_at`).
    """
    out: list[tuple[dt.datetime | None, Mapping[str, Json]]] = []
    for item in located:
        if item.event.kind in GO_NO_GO_ASKED and (item.phase, item.stage) == (
            phase,
            stage,
        ):
            found = _evaluation_in(item.event.data.get("evidence"))
            if found is not None:
                out.append((item.event.at, found))
    results = state.get("stage_results")
    if isinstance(results, list):
        for result in results:
            if not isinstance(result, dict):
                continue
            if (result.get("phase"), result.get("stage")) != (phase, stage):
                continue
            found = _evaluation_in(result.get("evidence"))
            if found is not None:
                out.append((_time(result.get("left_at")), found))
    return _by_time(out)


def last_checks(
    located: Iterable[Located], state: Mapping[str, Json], phase: int, stage: int
) -> dict[str, Mapping[str, Json]]:
    """Criterion label → the last check result recorded for this stage.

    A check result is `engine.evaluation.CheckResult.to_json()`: the harm events
    carry one under `decision`, evaluations a list under `checks`. The latest in
    time wins (a stage that was rolled back and passed later is healthy).
    """
    items = list(located)
    recorded: list[tuple[dt.datetime | None, list[Mapping[str, Json]]]] = []
    for at, evaluation in evaluations(items, state, phase, stage):
        listed = evaluation.get("checks")
        found: list[Mapping[str, Json]] = []
        for entry in listed if isinstance(listed, list) else []:
            if isinstance(entry, dict):
                found.append(entry)
        recorded.append((at, found))
    for item in items:
        one = item.event.data.get("decision")
        if (
            item.event.kind in HARM
            and (item.phase, item.stage) == (phase, stage)
            and isinstance(one, dict)
        ):
            recorded.append((item.event.at, [one]))
    out: dict[str, Mapping[str, Json]] = {}
    for _, checks in _by_time(recorded):
        for check in checks:
            label = check.get("criterion")
            if isinstance(label, str):
                out[label] = check
    return out


def last_health(
    located: Iterable[Located], state: Mapping[str, Json], phase: int, stage: int
) -> str | None:
    """The data-health reason of the stage's last recorded evaluation.

    "" when it said the data were healthy; None when none is recorded.
    """
    reason: str | None = None
    for _, evaluation in evaluations(located, state, phase, stage):
        health = evaluation.get("health")
        if isinstance(health, dict):
            said = health.get("reason")
            reason = said if isinstance(said, str) else ""
    return reason


_T = TypeVar("_T")


def _by_time(
    items: list[tuple[dt.datetime | None, _T]],
) -> list[tuple[dt.datetime | None, _T]]:
    # Stable: records without a time keep their place before the timed ones.
    floor = dt.datetime.min.replace(tzinfo=dt.UTC)
    return sorted(items, key=lambda item: item[0] or floor)


def _time(value: object) -> dt.datetime | None:
    if not isinstance(value, str):
        return None
    try:
        at = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    return at if at.tzinfo is not None else at.replace(tzinfo=dt.UTC)


def _evaluation_in(evidence: object) -> Mapping[str, Json] | None:
    if not isinstance(evidence, dict):
        return None
    evaluation = evidence.get("evaluation")
    return evaluation if isinstance(evaluation, dict) else None


def text_of(data: Mapping[str, Json], *keys: str) -> str:
    """The first of `keys` that holds a non-empty string, or ""."""
    for key in keys:
        value = data.get(key)
        if isinstance(value, str) and value:
            return value
    return ""


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _int(value: object) -> int:
    assert isinstance(value, int)
    return value
