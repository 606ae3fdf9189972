"""What `flagramp demo` shows: live progress, then a summary of every stage.

Pure rendering: each function turns the loop's values into Rich renderables,
and every string goes through `styled` or a SafeConsole, so nothing from a plan
is read as markup.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from flagramp.cli.demo_loop import DemoUpdate, LoggedEvent, StageRow
from flagramp.cli.output import styled
from flagramp.cli.text import shown
from flagramp.core.plans import Plan, RolloutPhase
from flagramp.core.plans.metrics import PERCENT_KINDS
from flagramp.core.types import Json
from flagramp.engine import CompiledCount, CompiledRatio, CompiledStage
from flagramp.engine.evaluation import CheckResult, StageEvaluation

__all__ = ["event_line", "incident_table", "progress", "summary_table"]

_OUTCOME_STYLE = {"healthy": "green", "harmful": "bold red", "inconclusive": "yellow"}


def progress(plan: Plan, update: DemoUpdate, log: Sequence[str]) -> RenderableType:
    """The live panel: where the run is, each criterion's state, recent decisions."""
    state = update.state
    head = Table.grid(padding=(0, 2))
    head.add_column(style="bold")
    head.add_column()
    head.add_row("virtual time", update.now.strftime("%a %d %b %H:%M UTC"))
    phase = plan.phases[state.phase]
    head.add_row("phase", phase.name)
    if isinstance(phase, RolloutPhase) and state.stage is not None:
        stage = phase.stages[state.stage]
        head.add_row("stage", f"{stage.name} at {float(stage.percentage):g} %")
    head.add_row("status", styled(state.status.value.replace("_", " "), "cyan"))
    head.add_row("waiting for", update.waiting_for)
    if update.injected is not None:
        fixed = update.injected.end_minute is not None
        head.add_row(
            "injected",
            f"{update.injected.kind} +{update.injected.amount:g}"
            + (" (fixed)" if fixed else ""),
        )
    parts: list[RenderableType] = [head]
    if update.evaluation is not None and update.stage is not None:
        parts.append(criteria_table(plan, update.stage, update.evaluation))
    if log:
        decisions = Table(title="decisions", show_header=False, box=None)
        decisions.add_column()
        for line in log[-8:]:
            decisions.add_row(line)
        parts.append(decisions)
    return Group(*parts)


def criteria_table(
    plan: Plan, stage: CompiledStage, evaluation: StageEvaluation
) -> Table:
    """Each criterion of the stage: mode, value vs limit, decision."""
    table = Table(title=f"criteria ({_users(evaluation)})")
    for name in ("criterion", "mode", "value", "limit", "decision"):
        table.add_column(name)
    limits = _limits(stage)
    for check in evaluation.checks:
        outcome = check.decision.outcome.value
        table.add_row(
            check.criterion,
            check.mode.value,
            _value(plan, check),
            limits.get(check.criterion, ""),
            styled(outcome, _OUTCOME_STYLE.get(outcome, "")),
        )
    return table


def summary_table(plan: Plan, rows: Sequence[StageRow]) -> Table:
    """Every stage attempt: percentage, duration, users, criteria, decision."""
    table = Table(title=f"{plan.title}: stages")
    for name in ("phase", "stage", "%", "duration", "users", "criteria", "decision"):
        table.add_column(name)
    for row in rows:
        phase = plan.phases[row.phase]
        assert isinstance(phase, RolloutPhase)
        ev = row.evaluation
        # One criterion a line: a Text, since the console escapes the
        # newlines of plain strings (they may be user text).
        criteria = (
            Text("\n").join(
                Text(shown(f"{c.criterion}: {_value(plan, c)}"))
                + Text(f" ({c.decision.outcome.value})")
                for c in ev.checks
            )
            if ev is not None
            else Text("—")
        )
        end = row.left
        table.add_row(
            phase.name.split(":")[0],
            phase.stages[row.stage].name,
            f"{row.percentage:g}",
            _duration(end - row.entered) if end is not None else "—",
            "—" if ev is None else str(ev.treatment_users),
            criteria,
            styled(row.decision, "red" if "rolled" in row.decision else "green"),
        )
    return table


def incident_table(incidents: Sequence[Mapping[str, Json]]) -> Table:
    """The run's incidents, one row each; root causes below the table (a
    person's paragraph, whole in the incident's report)."""
    causes = [
        f"{_text(r.get('incident'))} root cause: {_text(r.get('root_cause'))}"
        for r in incidents
    ]
    table = Table(
        title="incidents (times in UTC)",
        caption="\n".join(causes) or None,
        caption_justify="left",
    )
    for name in ("incident", "severity", "trigger", "detected", "acted"):
        table.add_column(name, no_wrap=True)
    for record in incidents:
        table.add_row(
            *(_text(record.get(k)) for k in ("incident", "severity", "trigger")),
            *(_when(record.get(k)) for k in ("detected_at", "acted_at")),
        )
    return table


def event_line(event: LoggedEvent) -> str:
    """One log entry in words: `Mon 09:10 stage_entered (eng@va.gov)`."""
    who = f" by {event.actor}" if event.actor else ""
    detail = event.data.get("criterion") or event.data.get("stage") or ""
    extra = f" {detail}" if isinstance(detail, str | int) and detail != "" else ""
    return f"{event.at.strftime('%a %H:%M')} {event.kind.replace('_', ' ')}{extra}{who}"


def _limits(stage: CompiledStage) -> dict[str, str]:
    out: dict[str, str] = {}
    for check in stage.checks:
        if isinstance(check, CompiledRatio) and not check.relative:
            out[check.criterion] = f"< {_percent(check.guard.limit)}"
        elif isinstance(check, CompiledCount):
            out[check.criterion] = f"< {check.limit.limit}"
    return out


def _value(plan: Plan, check: CheckResult) -> str:
    estimate = check.decision.evidence.estimate
    if not math.isfinite(estimate):
        return "—"
    metric = plan.metrics.get(check.metric) if check.metric else None
    if metric is not None and metric.metric_kind in PERCENT_KINDS:
        return _percent(estimate)
    if metric is None and not check.decision.evidence.test.startswith("count"):
        return _percent(estimate)  # the engine's own checks are shares
    # A mean (a CSAT score), a count: in the metric's own unit, not percent.
    return f"{estimate:.3g}"


def _percent(fraction: float) -> str:
    return f"{100 * fraction:.2f} %"


def _users(evaluation: StageEvaluation) -> str:
    return (
        f"{evaluation.treatment_users} treatment, "
        f"{evaluation.control_users} control users"
    )


def _duration(delta: dt.timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    days, rest = divmod(minutes, 1440)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    return f"{hours}h {mins:02d}m"


def _text(value: Json) -> str:
    return "—" if value is None else str(value)


def _when(value: Json) -> str:
    """An ISO time as `01-10 15:00` (UTC); anything else as it is."""
    if not isinstance(value, str):
        return _text(value)
    try:
        at = dt.datetime.fromisoformat(value)
    except ValueError:
        return value
    return at.astimezone(dt.UTC).strftime("%m-%d %H:%M")
