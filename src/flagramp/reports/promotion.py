"""A promotion run in a report (seed 004): environments, each step's checklist
with who and when, backup, verification, go/no-go and what happened.

What happened comes from the engine's run events: `promotion_decided` (data:
`step`, `outcome`), `promotion_restored` (the snapshot written back),
`promotion_backup` (the store's backup id, when it was taken) and
`checklist_done` (who did an item, and when); an older `promotion_step` event
(`step`, `outcome`, `note`) is read too. A step with none says it has not run
yet, and its checklist who is to do each task (`done_by` in the plan, or "not
done yet" and the role).
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
from flagramp.reports.run_record import RunEvent

#: A step's result in the log (data {step, outcome, note}).
PROMOTION_STEP = frozenset({"promotion_step", "promotion_decided"})
RESTORED = frozenset({"promotion_restored"})
BACKUP = frozenset({"promotion_backup"})
CHECKLIST = frozenset({"checklist_done"})


def _index(event: RunEvent, key: str = "step") -> int | None:
    value = event.data.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def promotion_report(ctx: ReportContext, promotion: Promotion) -> PromotionReport:
    """The plan's promotion with what the log says of each step."""
    outcomes: dict[int, str] = {}
    for event in of_kind(ctx.events, PROMOTION_STEP):
        step = _index(event)
        if step is not None:
            note = text_of(event.data, "note")
            outcome = text_of(event.data, "outcome") or "recorded"
            outcomes[step] = f"{outcome}{f': {note}' if note else ''}"
    for event in of_kind(ctx.events, RESTORED):
        step = _index(event)
        if step is not None and step in outcomes:
            snapshot = text_of(event.data, "snapshot")
            outcomes[step] += f"; restored to snapshot {snapshot}"
    backups = {
        step: f"{text_of(e.data, 'backup')} at {e.at:%Y-%m-%d %H:%M} UTC"
        for e in of_kind(ctx.events, BACKUP)
        if (step := _index(e)) is not None and text_of(e.data, "backup")
    }
    done: dict[tuple[int, int], str] = {}
    for event in of_kind(ctx.events, CHECKLIST):
        step, item = _index(event), _index(event, "item")
        if step is not None and item is not None:
            who = event.actor or "someone"
            done[(step, item)] = f"{who}, {event.at:%Y-%m-%d %H:%M} UTC"
    return PromotionReport(
        environments=tuple(
            EnvironmentRow(e.name, e.use or "not described", e.parties)
            for e in ctx.plan.environments
        ),
        window=_window(promotion.time_of_day),
        steps=tuple(
            _step(ctx, i, step, outcomes.get(i), backups.get(i), done)
            for i, step in enumerate(promotion.steps)
        ),
    )


def _step(
    ctx: ReportContext,
    index: int,
    step: PromotionStep,
    outcome: str | None,
    backup: str | None,
    done: dict[tuple[int, int], str],
) -> PromotionStepReport:
    roles = step.go_no_go.roles if step.go_no_go else ()
    planned = _backup(step)
    return PromotionStepReport(
        environment=step.environment,
        date=step.date or Pending("no date in the plan"),
        backup=planned if backup is None else f"{planned}; taken: {backup}",
        checklist=tuple(
            ChecklistRow(
                item.text,
                ctx.role_title(item.role) if item.role else "anyone",
                item.when or "when the step runs",
                str(item.expected_duration) if item.expected_duration else "not set",
                done.get((index, j))
                or item.done_by
                or ctx.pending("not done yet", item.role),
            )
            for j, item in enumerate(step.checklist)
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
