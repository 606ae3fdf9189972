"""A promotion run in a report (seed 004): environments, each step's checklist
with who and when, backup, verification, go/no-go and what happened.

The steps' outcomes are read from `promotion_step` events (data: `step` index,
`outcome`, `note`); until the engine logs promotion steps into a run, each step
says it has not run yet, and its checklist who did each task (`done_by` in the
plan, or "not done yet" and the role).
"""

from __future__ import annotations

from flagramp.core.plans import Backup, Promotion, PromotionStep, TimeOfDay
from flagramp.reports.context import ReportContext
from flagramp.reports.model import (
    ChecklistRow,
    EnvironmentRow,
    Pending,
    PromotionReport,
    PromotionStepReport,
)
from flagramp.reports.run_log import of_kind, text_of

#: A promotion step's result in the log: data {step, outcome, note}.
PROMOTION_STEP = frozenset({"promotion_step"})


def promotion_report(ctx: ReportContext, promotion: Promotion) -> PromotionReport:
    """The plan's promotion with what the log says of each step."""
    outcomes: dict[int, str] = {}
    for event in of_kind(ctx.events, PROMOTION_STEP):
        step = event.data.get("step")
        if isinstance(step, int) and not isinstance(step, bool):
            note = text_of(event.data, "note")
            outcome = text_of(event.data, "outcome") or "recorded"
            outcomes[step] = f"{outcome}{f': {note}' if note else ''}"
    return PromotionReport(
        environments=tuple(
            EnvironmentRow(e.name, e.use or "not described", e.parties)
            for e in ctx.plan.environments
        ),
        window=_window(promotion.time_of_day),
        steps=tuple(
            _step(ctx, step, outcomes.get(i)) for i, step in enumerate(promotion.steps)
        ),
    )


def _step(
    ctx: ReportContext, step: PromotionStep, outcome: str | None
) -> PromotionStepReport:
    roles = step.go_no_go.roles if step.go_no_go else ()
    return PromotionStepReport(
        environment=step.environment,
        date=step.date or Pending("no date in the plan"),
        backup=_backup(step),
        checklist=tuple(
            ChecklistRow(
                item.text,
                ctx.role_title(item.role) if item.role else "anyone",
                item.when or "when the step runs",
                str(item.expected_duration) if item.expected_duration else "not set",
                item.done_by or ctx.pending("not done yet", item.role),
            )
            for item in step.checklist
        ),
        verification=tuple(
            f"HTTP {p.url} answers {p.expect_status}"
            if p.kind == "http"
            else f"hook {p.name}"
            for p in step.verify
        ),
        go_no_go=tuple(ctx.role_title(r) for r in roles),
        on_no_go="restore the backup" if step.on_no_go == "restore" else "stop",
        outcome=outcome or Pending("not run yet"),
    )


def _backup(step: PromotionStep) -> str:
    if step.backup is False:
        return "none"
    if isinstance(step.backup, Backup):
        day = (
            f"{step.backup.days_before} day(s) before"
            if step.backup.days_before
            else "the day"
        )
        at = f" at {step.backup.at} ({step.backup.timezone})" if step.backup.at else ""
        return f"a snapshot {day}{at}"
    return "a snapshot just before the step"


def _window(time: TimeOfDay | None) -> str:
    if time is None:
        return "any time"
    weekdays = ", weekdays only" if time.weekdays_only else ""
    return f"{time.start}–{time.end} ({time.timezone}){weekdays}"
