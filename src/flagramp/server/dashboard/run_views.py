"""What the run pages show, computed from a run's row, state JSON and log.

Plain functions of their inputs and `now` (no I/O, no clock): the run's stage
and phase by name, what it waits for and from whom, when the next decision is
due, the pending go/no-go with its frozen evidence, the timeline, and the guard
series the charts draw.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from flagramp.core.errors import FlagrampError
from flagramp.core.plans import Plan, RolloutPhase, load_plan
from flagramp.core.types import Json
from flagramp.engine.transitions.people import holds, kill_roles
from flagramp.server.dashboard.runs_port import RunLogEntry, RunSummary

#: Statuses in which a run takes no more commands.
FINAL = ("completed", "aborted")


#: Plans kept parsed. The runs list reads every run's plan in turn, and an LRU
#: smaller than the number of distinct plan texts misses on every row (100 runs
#: of their own plans against 64 entries: 1.1 s per list, bench/RESULTS.md).
#: A parsed plan is about 80 KiB: 512 of them, about 40 MiB at most.
PLAN_CACHE_SIZE = 512


@functools.lru_cache(maxsize=PLAN_CACHE_SIZE)
def plan_of(text: str) -> Plan | None:
    """The run's plan, or None if its text no longer loads (shown as unknown)."""
    try:
        return load_plan(text).plan
    except (FlagrampError, ValueError):
        return None


@dataclass(frozen=True, slots=True)
class RunLine:
    """One run in the list."""

    id: str
    plan: str
    environment: str
    status: str
    phase: str
    stage: str
    waiting_for: str
    who: str
    next_due: str


@dataclass(frozen=True, slots=True)
class Check:
    """One criterion's result as a go/no-go shows it."""

    criterion: str
    metric: str
    outcome: str
    severity: str
    estimate: str
    interval: str
    reference: str


@dataclass(frozen=True, slots=True)
class PendingGate:
    """The go/no-go being asked, with the evidence frozen when it was asked."""

    kind: str
    roles: tuple[str, ...]
    quorum: int
    asked_at: str
    votes: tuple[Mapping[str, Json], ...]
    risks: tuple[str, ...]
    checks: tuple[Check, ...]
    users: str
    my_roles: tuple[str, ...] = field(default=())
    """Roles of this gate the viewer holds (the vote form offers only these)."""


def _object(value: object) -> Mapping[str, Json]:
    """A JSON object, or an empty one for anything else."""
    return value if isinstance(value, dict) else {}


def _array(value: object) -> list[Json]:
    """A JSON array, or an empty one for anything else."""
    return value if isinstance(value, list) else []


def _texts(value: object) -> tuple[str, ...]:
    return tuple(v for v in _array(value) if isinstance(v, str))


def _names(plan: Plan | None, state: Mapping[str, Json]) -> tuple[str, str]:
    phase_index, stage_index = state.get("phase"), state.get("stage")
    if plan is None or not isinstance(phase_index, int):
        return "unknown", "unknown"
    if not 0 <= phase_index < len(plan.phases):
        return "—", "—"
    phase = plan.phases[phase_index]
    stage = "—"
    if (
        isinstance(phase, RolloutPhase)
        and isinstance(stage_index, int)
        and 0 <= stage_index < len(phase.stages)
    ):
        stage = phase.stages[stage_index].name
    return phase.name, stage


def waiting(state: Mapping[str, Json]) -> tuple[str, str]:
    """What the run waits for, and who must act (roles and their people)."""
    status = str(state.get("status", ""))
    if status in FINAL:
        return f"nothing: the run is {status}", "—"
    found = state.get("waiting")
    if not isinstance(found, dict):
        return status.replace("_", " "), "—"
    what = str(found.get("what", ""))
    roles, people = _texts(found.get("roles")), _texts(found.get("people"))
    who = ", ".join(roles) or "—"
    if people:
        who += f" ({', '.join(people)})"
    return what, who


def _when(value: Json) -> dt.datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return dt.datetime.fromisoformat(value)
    except ValueError:
        return None


def counted_seconds(state: Mapping[str, Json], now: dt.datetime) -> float:
    """The current stage's counted seconds (RunState.clock, from its JSON)."""
    clock = state.get("clock")
    if not isinstance(clock, dict):
        return 0.0
    counted = clock.get("counted")
    total = float(counted) if isinstance(counted, int | float) else 0.0
    running = _when(clock.get("running_since"))
    if running is not None:
        total += max(0.0, (now - running).total_seconds())
    return total


def next_due(plan: Plan | None, state: Mapping[str, Json], now: dt.datetime) -> str:
    """When the next decision is due, in words."""
    status = str(state.get("status", ""))
    if status == "awaiting_go_no_go":
        gate = state.get("gate")
        asked = gate.get("asked_at") if isinstance(gate, dict) else None
        return f"now: go/no-go asked {asked}" if asked else "now: go/no-go"
    if status == "checkpoint_due":
        return "now: a checkpoint"
    if status != "stage_running" or plan is None:
        return "—"
    phase_index, stage_index = state.get("phase"), state.get("stage")
    if not isinstance(phase_index, int) or not isinstance(stage_index, int):
        return "—"
    if not 0 <= phase_index < len(plan.phases):
        return "—"
    phase = plan.phases[phase_index]
    if not isinstance(phase, RolloutPhase) or not 0 <= stage_index < len(phase.stages):
        return "—"
    stage = phase.stages[stage_index]
    left = stage.hold.seconds - counted_seconds(state, now)
    if left <= 0:
        return "at the next check: the hold is over, when the evidence is decided"
    due = now + dt.timedelta(seconds=left)
    minutes = round(left / 60)
    return f"in {minutes} min of counted time (about {due:%Y-%m-%d %H:%M} UTC)"


def line(row: RunSummary, now: dt.datetime) -> RunLine:
    """A run as the list shows it."""
    plan = plan_of(row.plan_text)
    phase, stage = _names(plan, row.state)
    what, who = waiting(row.state)
    return RunLine(
        id=row.id,
        plan=row.plan_name,
        environment=row.environment,
        status=row.status,
        phase=phase,
        stage=stage,
        waiting_for=what,
        who=who,
        next_due=next_due(plan, row.state, now),
    )


def _number(value: Json) -> str:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return f"{value:.4g}"
    return "—"


def _check(document: Json) -> Check | None:
    if not isinstance(document, dict):
        return None
    decision = _object(document.get("decision"))
    evidence = _object(decision.get("evidence"))
    lower, upper = _number(evidence.get("lower")), _number(evidence.get("upper"))
    return Check(
        criterion=str(document.get("criterion", "")),
        metric=str(document.get("metric", "")),
        outcome=str(decision.get("outcome", "unknown")),
        severity=str(decision.get("severity", "")),
        estimate=_number(evidence.get("estimate")),
        interval=f"[{lower}, {upper}]",
        reference=_number(evidence.get("reference")),
    )


def checks_of(evaluation: Json) -> tuple[Check, ...]:
    """The criteria results of a stage evaluation (its JSON)."""
    found = (_check(c) for c in _array(_object(evaluation).get("checks")))
    return tuple(c for c in found if c is not None)


def pending_gate(
    plan: Plan | None, state: Mapping[str, Json], person: str
) -> PendingGate | None:
    """The go/no-go the run waits for, if any."""
    gate = state.get("gate")
    if state.get("status") != "awaiting_go_no_go" or not isinstance(gate, dict):
        return None
    roles = _texts(gate.get("roles"))
    evidence = _object(gate.get("evidence"))
    evaluation = evidence.get("evaluation")
    users = "—"
    if isinstance(evaluation, dict):
        users = (
            f"{evaluation.get('treatment_users', 0)} treatment, "
            f"{evaluation.get('control_users', 0)} control"
        )
    votes = state.get("votes")
    quorum = gate.get("quorum")
    return PendingGate(
        kind=str(gate.get("kind", "")),
        roles=roles,
        quorum=quorum if isinstance(quorum, int) else 1,
        asked_at=str(gate.get("asked_at", "")),
        votes=tuple(v for v in _array(votes) if isinstance(v, dict)),
        risks=_texts(evidence.get("risks")),
        checks=checks_of(evaluation),
        users=users,
        my_roles=tuple(r for r in roles if plan is not None and holds(plan, person, r)),
    )


def may_kill(plan: Plan | None, person: str) -> bool:
    """Whether the person holds a role that may pull the run's kill switch."""
    return plan is not None and any(holds(plan, person, r) for r in kill_roles(plan))


def timeline(log: Sequence[RunLogEntry]) -> list[dict[str, str]]:
    """The run's events, newest first, each in a line of words."""
    lines = []
    for event in reversed(log):
        detail = ", ".join(
            f"{name}: {value}"
            for name, value in event.data.items()
            if isinstance(value, str | int | float) and not isinstance(value, bool)
        )
        lines.append(
            {
                "seq": str(event.seq),
                "at": event.at,
                "kind": event.kind,
                "actor": event.actor or "the controller",
                "detail": detail[:300],
            }
        )
    return lines


def _evaluations(
    log: Sequence[RunLogEntry], last: Mapping[str, Json] | None
) -> list[Mapping[str, Json]]:
    found: list[Mapping[str, Json]] = []
    for event in log:
        if isinstance(event.data.get("evaluation"), dict):
            found.append(_object(event.data.get("evaluation")))
        frozen = _object(event.data.get("evidence")).get("evaluation")
        if isinstance(frozen, dict):
            found.append(frozen)
    if last is not None:
        found.append(last)
    return found


#: Seconds shown either side of a chart's only point.
ONE_POINT_MARGIN = 3600


def x_range(times: Sequence[int]) -> list[Json]:
    """The time axis of a guard chart, `[start, end]` in epoch seconds: the
    points' own span, or an hour either side of a single point (uPlot would
    otherwise stretch one point over years)."""
    if not times:
        return []
    low, high = min(times), max(times)
    if low == high:
        return [low - ONE_POINT_MARGIN, high + ONE_POINT_MARGIN]
    return [low, high]


def look_evaluation(looks: Json) -> Mapping[str, Json] | None:
    """The run's current looks (`RunState.looks`, `engine.looks`: each
    criterion's decision at the controller's last tick) as an evaluation
    `guard_series` reads, or None when there are none or they carry no minute
    (stored before it was kept). A criterion without an estimate yet is left
    out."""
    document = _object(looks)
    minute = document.get("minute")
    if not isinstance(minute, int) or isinstance(minute, bool):
        return None
    checks: list[Json] = []
    for name, look in sorted(_object(document.get("criteria")).items()):
        found = _object(look)
        estimate = found.get("estimate")
        if not isinstance(estimate, int | float) or not math.isfinite(estimate):
            continue  # no data yet ("nan"): nothing to draw
        evidence = {
            key: found.get(key) for key in ("estimate", "lower", "upper", "reference")
        }
        checks.append({"criterion": name, "decision": {"evidence": evidence}})
    return {"minute": minute, "checks": checks}


def look_id(looks: Json) -> str:
    """Which look the run's state holds, for an event id: its minute, or ""."""
    minute = _object(looks).get("minute")
    return str(minute) if isinstance(minute, int) else ""


def guard_series(
    log: Sequence[RunLogEntry],
    last: Mapping[str, Json] | None,
    looks: Json = None,
) -> dict[str, Json]:
    """Each criterion's estimate and interval over the evaluations the log and
    the latest evaluation hold, and the current look (`looks`, the run state's,
    when given; a minute the log has keeps the log's point): `{"criteria":
    {name: {"t", "estimate", "lower", "upper", "reference", "range"}}}` with
    epoch seconds, oldest first, each minute once; `range` is the chart's time
    axis (`x_range`)."""
    points: dict[str, dict[int, dict[str, Json]]] = {}
    evaluations = _evaluations(log, last)
    current = look_evaluation(looks)
    if current is not None:
        evaluations.append(current)
    for evaluation in evaluations:
        minute = evaluation.get("minute")
        if not isinstance(minute, int):
            continue
        for document in _array(evaluation.get("checks")):
            check = _object(document)
            name = str(check.get("criterion", ""))
            evidence = _object(_object(check.get("decision")).get("evidence"))
            points.setdefault(name, {}).setdefault(
                minute * 60,
                {
                    key: value
                    if isinstance(value, int | float)
                    and not isinstance(value, bool)
                    and math.isfinite(value)
                    else None
                    for key in ("estimate", "lower", "upper", "reference")
                    for value in (evidence.get(key),)
                },
            )
    criteria: dict[str, Json] = {}
    for name, by_time in sorted(points.items()):
        times = sorted(by_time)
        series: dict[str, Json] = {"t": list[Json](times)}
        for key in ("estimate", "lower", "upper", "reference"):
            series[key] = [by_time[t][key] for t in times]
        series["range"] = x_range(times)
        criteria[name] = series
    return {"criteria": criteria}
