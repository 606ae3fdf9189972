"""A promotion run as a pure machine: what to do next, and what a result makes
of the run. No I/O, no clock reads (`now` is passed in).

The controller asks `pending(context, state, now)` for the next `Action` (a
backup hook, the snapshot and copy, the probes, the restore, the restore hook
and probes again), does it (`engine.promotion_driver`), and passes what it got
to the matching `record_*`, which returns the `Step` to write. `tick` is what
time alone does (overrun alerts). People's commands go to `command`: signing
prerequisites, go/no-go votes by the step's roles (role-checked: the person
must hold the role in the plan), checklist items done (`FinishManualPhase`:
who, and the time, are recorded), and `Abort`.

Rules (`engine.promotion` holds the pure pieces):
- a step begins inside its time of day (the step's, else the promotion's) and
  not before its `date` (local to that window's time zone);
- a step that backs up first schedules the store's backup of its target (a
  one-off row of `store.backup_schedules`, event `promotion_backup_scheduled`),
  then at its scheduled time (`backup: {at, days_before}` before the step's
  date), else just before the step, takes it (a snapshot of the target, its id
  in the `promotion_backup` event) and runs the application's backup hook when
  one is registered; a failed hook holds the step (retried hourly) and alerts;
- the copy comes after a snapshot of the target, in one unit of work;
- probes, then the go/no-go (`promotion.step_outcome`); Go moves to the next
  step or completes; No-Go with `on_no_go: restore` writes the snapshot back,
  runs the restore hook and the probes again, and ends the run (aborted: the
  release is backed out);
- a checklist item runs from the previous item's completion (the first from the
  copy); one that takes longer than its `expected_duration`, or a step longer
  than its own, raises a `promotion_step` notice once.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from enum import StrEnum
from zoneinfo import ZoneInfo

from flagramp.core.plans import Answer, Backup, Promotion, PromotionStep
from flagramp.core.types import Json
from flagramp.engine.commands import (
    Abort,
    Command,
    CommandRefused,
    FinishManualPhase,
    SignPrerequisite,
    Vote,
)
from flagramp.engine.notify import NoticeKind
from flagramp.engine.probes import ProbeResult
from flagramp.engine.promotion import StepOutcome, source_of, step_outcome
from flagramp.engine.promotion_state import PromotionState, StepRecord
from flagramp.engine.run_context import RunContext
from flagramp.engine.run_records import SignedItem, VoteRecord, iso
from flagramp.engine.run_state import RunStatus
from flagramp.engine.steps import NoticeDraft, RunEventDraft, Step
from flagramp.engine.transitions.windows import time_of_day_open
from flagramp.store.backup_schedules import before_day

__all__ = [
    "BACKUP_RETRY",
    "Action",
    "ActionKind",
    "backup_due",
    "backup_schedule_name",
    "command",
    "is_promotion",
    "pending",
    "record_backup",
    "record_backup_scheduled",
    "record_copy",
    "record_restore",
    "record_reverify",
    "record_verify",
    "start",
    "tick",
]

#: How long a failed backup waits before the hook is run again.
BACKUP_RETRY = dt.timedelta(hours=1)


class ActionKind(StrEnum):
    SCHEDULE = "schedule"
    BACKUP = "backup"
    COPY = "copy"
    VERIFY = "verify"
    RESTORE = "restore"
    REVERIFY = "reverify"


@dataclass(frozen=True, slots=True)
class Action:
    """What the controller must do for the run now."""

    kind: ActionKind
    step: int
    source: str
    target: str
    spec: PromotionStep


def is_promotion(context: RunContext) -> bool:
    """Whether the run's plan is a promotion (a promotion and no phases)."""
    return context.plan.promotion is not None and not context.plan.phases


def _promotion(context: RunContext) -> Promotion:
    promotion = context.plan.promotion
    assert promotion is not None
    return promotion


class _Draft:
    """Events and notices gathered for one step."""

    def __init__(self, context: RunContext, state: PromotionState, now: dt.datetime):
        self.context, self.state, self.now = context, state, now
        self.events: list[RunEventDraft] = []
        self.notices: list[NoticeDraft] = []
        #: The command repeats one already taken (`Step.repeated`).
        self.repeated = False

    def event(self, kind: str, actor: str | None = None, /, **data: Json) -> None:
        self.events.append(RunEventDraft(kind, actor, dict(data)))

    def notice(
        self,
        kind: NoticeKind,
        title: str,
        text: str,
        roles: tuple[str, ...],
        **data: Json,
    ) -> None:
        known = tuple(dict.fromkeys(r for r in roles if r in self.context.plan.roles))
        data.setdefault("run", self.context.run)
        self.notices.append(NoticeDraft(kind, title, text, known, dict(data)))

    def update(self, **changes: object) -> None:
        self.state = dataclasses.replace(self.state, **changes)  # type: ignore[arg-type]

    def record(self, record: StepRecord) -> None:
        self.state = self.state.with_current(record)

    def step(self) -> Step:
        return Step(
            self.state,
            tuple(self.events),
            (),
            tuple(self.notices),
            repeated=self.repeated,
        )


def _environments(context: RunContext) -> list[str]:
    return [e.name for e in context.plan.environments]


def _spec(context: RunContext, index: int) -> PromotionStep:
    return _promotion(context).steps[index]


def _begin_step(d: _Draft, index: int) -> None:
    """Move to step `index` (waiting for its window), or complete."""
    promotion = _promotion(d.context)
    if index >= len(promotion.steps):
        d.update(status=RunStatus.COMPLETED, since=d.now)
        d.event("completed", steps=len(promotion.steps))
        d.notice(
            NoticeKind.COMPLETED,
            f"{d.context.plan.title}: promoted",
            "Every promotion step is Go.",
            (d.context.plan.owner,),
        )
        return
    spec = promotion.steps[index]
    source = source_of(promotion, _environments(d.context), index)
    d.update(status=RunStatus.WAITING_WINDOW, phase=index, since=d.now)
    d.record(StepRecord(index, source, spec.environment))
    d.event(
        "promotion_step_waiting", step=index, source=source, target=spec.environment
    )


def start(context: RunContext, now: dt.datetime) -> Step:
    """The promotion run's first step."""
    plan = context.plan
    state = PromotionState(RunStatus.WAITING_PREREQUISITES, 0, None, now)
    d = _Draft(context, state, now)
    d.event(
        "run_started",
        plan=plan.name,
        kind="promotion",
        environment=context.environment,
        steps=[s.environment for s in _promotion(context).steps],
    )
    if plan.prerequisites:
        roles = tuple(dict.fromkeys(p.signed_by for p in plan.prerequisites))
        d.notice(
            NoticeKind.NEEDS_PERSON,
            f"{plan.title}: prerequisites to sign",
            "Each prerequisite is signed by a person holding its role.",
            roles,
        )
    else:
        _begin_step(d, 0)
    return d.step()


# --- when a step may begin ------------------------------------------------------


def _window(context: RunContext, spec: PromotionStep) -> object:
    return spec.time_of_day or _promotion(context).time_of_day


def _date_reached(context: RunContext, spec: PromotionStep, now: dt.datetime) -> bool:
    if spec.date is None:
        return True
    window = spec.time_of_day or _promotion(context).time_of_day
    zone = ZoneInfo(window.timezone) if window is not None else dt.UTC
    return now.astimezone(zone).date() >= spec.date


def backup_due(spec: PromotionStep) -> dt.datetime | None:
    """The scheduled time of a step's backup (None: just before the step)."""
    backup = spec.backup
    if not isinstance(backup, Backup) or backup.at is None or spec.date is None:
        return None
    return before_day(
        spec.date,
        days_before=backup.days_before,
        at=dt.time.fromisoformat(backup.at),
        timezone=backup.timezone,
    )


def backup_schedule_name(context: RunContext, step: int) -> str:
    """The `backup_schedules` row of a run's step: `R1-step-3`."""
    return f"{context.run}-step-{step + 1}"


def may_begin(context: RunContext, spec: PromotionStep, now: dt.datetime) -> bool:
    """Whether the step's date and time of day allow its changes now."""
    window = spec.time_of_day or _promotion(context).time_of_day
    return _date_reached(context, spec, now) and time_of_day_open(window, now)


def pending(
    context: RunContext, state: PromotionState, now: dt.datetime
) -> Action | None:
    """The action the controller must do now, if any."""
    record = state.current
    if record is None or state.status.is_final:
        return None
    spec = _spec(context, state.phase)

    def act(kind: ActionKind) -> Action:
        return Action(kind, state.phase, record.source, record.target, spec)

    status = state.status
    if status is RunStatus.WAITING_WINDOW:
        begins = may_begin(context, spec, now)
        if spec.takes_backup and not record.backup_ok:
            if record.backup_schedule is None:
                return act(ActionKind.SCHEDULE)
            retry = record.backup_at is None or now - record.backup_at >= BACKUP_RETRY
            scheduled = backup_due(spec)
            due = now >= scheduled if scheduled is not None else begins
            return act(ActionKind.BACKUP) if due and retry else None
        return act(ActionKind.COPY) if begins else None
    if status is RunStatus.STAGE_RUNNING:
        return act(ActionKind.VERIFY)
    if status is RunStatus.ROLLED_BACK:
        if record.restored is None:
            return act(ActionKind.RESTORE)
        if record.reverified_at is None:
            return act(ActionKind.REVERIFY)
    return None


# --- results of the controller's actions ------------------------------------------


def record_backup_scheduled(
    context: RunContext,
    state: PromotionState,
    now: dt.datetime,
    schedule: str,
    due: dt.datetime,
) -> Step:
    """The store's backup of the step's target was scheduled (`schedule`, due
    at `due`; a backup "just before the step" is due as soon as it may begin)."""
    d = _Draft(context, state, now)
    record = state.current
    assert record is not None
    d.record(dataclasses.replace(record, backup_schedule=schedule, backup_due=due))
    d.event(
        "promotion_backup_scheduled",
        step=record.step,
        target=record.target,
        schedule=schedule,
        due=iso(due),
        scheduled=backup_due(_spec(context, state.phase)) is not None,
    )
    return d.step()


def record_backup(
    context: RunContext,
    state: PromotionState,
    now: dt.datetime,
    result: ProbeResult | None,
    store_backup: str,
) -> Step:
    """The store's backup of the target was taken (`store_backup`, its id) and
    the application's backup hook ran (`result`; None: no hook registered),
    before any change to the target."""
    d = _Draft(context, state, now)
    record = state.current
    assert record is not None
    hook = None if result is None else result.to_json()
    d.record(
        dataclasses.replace(
            record, backup=hook, backup_at=now, store_backup=store_backup
        )
    )
    d.event(
        "promotion_backup",
        step=record.step,
        target=record.target,
        backup=store_backup,
        schedule=record.backup_schedule,
        result=hook,
    )
    if result is not None and not result.ok:
        d.notice(
            NoticeKind.PROMOTION_STEP,
            f"{context.plan.title}: backup of {record.target} failed",
            f"{result.probe}: {result.detail}. The step waits; the backup "
            "is tried again.",
            (context.plan.owner,),
            step=record.step,
        )
    return d.step()


def record_copy(
    context: RunContext,
    state: PromotionState,
    now: dt.datetime,
    snapshot: str,
    copied: dict[str, Json],
) -> Step:
    """The target's snapshot was taken and the source's flags copied into it."""
    d = _Draft(context, state, now)
    record = state.current
    assert record is not None
    d.record(
        dataclasses.replace(record, snapshot=snapshot, copied_at=now, copied=copied)
    )
    d.update(status=RunStatus.STAGE_RUNNING, since=now)
    d.event(
        "promotion_copied",
        step=record.step,
        source=record.source,
        target=record.target,
        snapshot=snapshot,
        copied=copied,
    )
    d.notice(
        NoticeKind.PROMOTION_STEP,
        f"{context.plan.title}: promoting {record.source} to {record.target}",
        f"Snapshot {snapshot} taken; flags copied; verification next.",
        (context.plan.owner,),
        step=record.step,
    )
    return d.step()


def record_verify(
    context: RunContext,
    state: PromotionState,
    now: dt.datetime,
    probes: tuple[ProbeResult, ...],
) -> Step:
    """The step's probes ran: decide, or ask the go/no-go."""
    d = _Draft(context, state, now)
    record = state.current
    assert record is not None
    record = dataclasses.replace(
        record, probes=tuple(p.to_json() for p in probes), verified_at=now
    )
    d.record(record)
    d.event(
        "promotion_verified", step=record.step, probes=[p.to_json() for p in probes]
    )
    spec = _spec(context, state.phase)
    if spec.go_no_go is None:
        _decide(d, step_outcome(spec, probes, ()))
        return d.step()
    d.update(status=RunStatus.AWAITING_GO_NO_GO, since=now)
    failed = [p.probe for p in probes if not p.ok]
    d.notice(
        NoticeKind.NEEDS_PERSON,
        f"{context.plan.title}: go/no-go for {record.target}",
        ("Verification failed: " + ", ".join(failed))
        if failed
        else "Verification passed.",
        spec.go_no_go.roles,
        step=record.step,
    )
    return d.step()


def record_restore(
    context: RunContext,
    state: PromotionState,
    now: dt.datetime,
    restored: dict[str, Json],
) -> Step:
    """The snapshot was written back to the target (new audited changes)."""
    d = _Draft(context, state, now)
    record = state.current
    assert record is not None
    d.record(dataclasses.replace(record, restored=restored))
    d.event(
        "promotion_restored",
        step=record.step,
        target=record.target,
        snapshot=record.snapshot,
        restored=restored,
    )
    return d.step()


def record_reverify(
    context: RunContext,
    state: PromotionState,
    now: dt.datetime,
    hook: ProbeResult | None,
    probes: tuple[ProbeResult, ...],
) -> Step:
    """After the restore: the restore hook and the probes again; the run ends."""
    d = _Draft(context, state, now)
    record = state.current
    assert record is not None
    d.record(
        dataclasses.replace(
            record,
            restore_hook=None if hook is None else hook.to_json(),
            probes_after_restore=tuple(p.to_json() for p in probes),
            reverified_at=now,
        )
    )
    d.event(
        "promotion_reverified",
        step=record.step,
        restore_hook=None if hook is None else hook.to_json(),
        probes=[p.to_json() for p in probes],
    )
    ok = all(p.ok for p in probes) and (hook is None or hook.ok)
    d.update(
        status=RunStatus.ABORTED, since=now, note=f"No-Go at {record.target}: restored"
    )
    d.event("aborted", reason="no_go", restored=True, verified=ok)
    d.notice(
        NoticeKind.PROMOTION_STEP,
        f"{context.plan.title}: {record.target} restored after No-Go",
        "The restore's verification " + ("passed." if ok else "FAILED."),
        (context.plan.owner,),
        step=record.step,
    )
    return d.step()


def _decide(d: _Draft, outcome: StepOutcome) -> None:
    record = d.state.current
    assert record is not None
    if outcome is StepOutcome.HOLD:
        return
    spec = _spec(d.context, d.state.phase)
    d.record(dataclasses.replace(record, outcome=outcome.value, decided_at=d.now))
    d.event(
        "promotion_decided",
        step=record.step,
        outcome=outcome.value,
        target=record.target,
    )
    d.notice(
        NoticeKind.PROMOTION_STEP,
        f"{d.context.plan.title}: {outcome.value.replace('_', '-')} at {record.target}",
        f"Step {record.step + 1} ({record.source} to {record.target}).",
        (d.context.plan.owner,),
        step=record.step,
    )
    if outcome is StepOutcome.GO:
        _begin_step(d, record.step + 1)
    elif spec.on_no_go == "restore" and record.snapshot is not None:
        d.update(status=RunStatus.ROLLED_BACK, since=d.now)
    else:
        d.update(
            status=RunStatus.ABORTED,
            since=d.now,
            note=f"No-Go at {record.target}: stopped",
        )
        d.event("aborted", reason="no_go", restored=False)


# --- time alone -------------------------------------------------------------------


def tick(context: RunContext, state: PromotionState, now: dt.datetime) -> Step:
    """Overrun alerts of the current step and its checklist (once each)."""
    record = state.current
    if record is None or record.copied_at is None or state.status.is_final:
        return Step(state)
    if record.outcome is not None:
        return Step(state)
    spec = _spec(context, state.phase)
    d = _Draft(context, state, now)
    done = {m.item: m.at for m in record.checklist}
    alerted = list(record.alerted)
    began = record.copied_at
    for i, item in enumerate(spec.checklist):
        end = done.get(i)
        limit = item.expected_duration
        took = (end or now) - began
        if limit is not None and i not in alerted and took > limit.delta:
            alerted.append(i)
            _overrun(d, record, item.text, item.role, limit.text, took)
        if end is None:
            break  # later items have not begun
        began = end
    whole = spec.expected_duration
    took = now - record.copied_at
    if whole is not None and -1 not in alerted and took > whole.delta:
        alerted.append(-1)
        what = f"step {record.step + 1} ({record.target})"
        _overrun(d, record, what, None, whole.text, took)
    if tuple(alerted) == record.alerted:
        return Step(state)
    d.record(dataclasses.replace(record, alerted=tuple(alerted)))
    return d.step()


def _overrun(
    d: _Draft,
    record: StepRecord,
    what: str,
    role: str | None,
    expected: str,
    elapsed: dt.timedelta,
) -> None:
    minutes = int(elapsed.total_seconds() // 60)
    d.event(
        "promotion_overrun",
        step=record.step,
        item=what,
        expected=expected,
        elapsed_minutes=minutes,
    )
    roles = (d.context.plan.owner, *((role,) if role else ()))
    d.notice(
        NoticeKind.PROMOTION_STEP,
        f"{d.context.plan.title}: overrun at {record.target}",
        f"{what} has taken {minutes} minutes, over its {expected}.",
        roles,
        step=record.step,
        item=what,
    )


# --- people -----------------------------------------------------------------------


def _holds(context: RunContext, person: str, role: str) -> bool:
    found = context.plan.roles.get(role)
    return found is not None and person in found.people


def command(
    context: RunContext, state: PromotionState, now: dt.datetime, cmd: Command
) -> Step:
    """What a person's command makes of the promotion; raises CommandRefused."""
    if state.status.is_final:
        raise CommandRefused("the promotion is over", code="run_final")
    d = _Draft(context, state, now)
    if isinstance(cmd, SignPrerequisite):
        _sign(d, cmd)
    elif isinstance(cmd, Vote):
        _vote(d, cmd)
    elif isinstance(cmd, FinishManualPhase):
        _checklist(d, cmd)
    elif isinstance(cmd, Abort):
        if not (
            _holds(context, cmd.person, context.plan.owner)
            or _holds(context, cmd.person, context.plan.product_owner)
        ):
            raise CommandRefused(
                "only the owner or product owner aborts", code="not_allowed"
            )
        d.update(status=RunStatus.ABORTED, since=now, note=cmd.note or "aborted")
        d.event("aborted", cmd.person, reason="aborted", note=cmd.note)
    else:
        raise CommandRefused(
            f"a promotion run does not take {type(cmd).__name__}",
            code="not_for_promotion",
        )
    return d.step()


def _sign(d: _Draft, cmd: SignPrerequisite) -> None:
    plan = d.context.plan
    if d.state.status is not RunStatus.WAITING_PREREQUISITES:
        raise CommandRefused("no prerequisite is waiting", code="not_waiting_for_that")
    if not 0 <= cmd.item < len(plan.prerequisites):
        raise CommandRefused(f"no prerequisite {cmd.item + 1}", code="no_such_item")
    item = plan.prerequisites[cmd.item]
    if not _holds(d.context, cmd.person, item.signed_by):
        raise CommandRefused(
            f"{cmd.person} does not hold {item.signed_by}", code="not_allowed"
        )
    if any(m.item == cmd.item for m in d.state.prerequisites):
        raise CommandRefused("already signed", code="already_done")
    signed = (*d.state.prerequisites, SignedItem(cmd.item, cmd.person, d.now, cmd.note))
    d.update(prerequisites=signed)
    d.event("prerequisite_signed", cmd.person, item=cmd.item, text=item.text)
    if len(signed) == len(plan.prerequisites):
        _begin_step(d, 0)


def _vote(d: _Draft, cmd: Vote) -> None:
    record = d.state.current
    if d.state.status is not RunStatus.AWAITING_GO_NO_GO or record is None:
        raise CommandRefused("no go/no-go is asked now", code="not_waiting_for_that")
    gate = _spec(d.context, d.state.phase).go_no_go
    assert gate is not None
    if cmd.role not in gate.roles:
        raise CommandRefused(
            f"{cmd.role} does not vote on this step", code="not_allowed"
        )
    if not _holds(d.context, cmd.person, cmd.role):
        raise CommandRefused(
            f"{cmd.person} does not hold {cmd.role}", code="not_allowed"
        )
    if cmd.repeats(record.votes):
        # The step's votes so far: the same vote again is a retry (as a
        # rollout's go/no-go, `transitions.handlers.vote`).
        d.repeated = True
        return
    votes = tuple(
        v for v in record.votes if (v.person, v.role) != (cmd.person, cmd.role)
    )
    votes = (
        *votes,
        VoteRecord(cmd.role, cmd.person, cmd.answer.value, cmd.comment, d.now),
    )
    record = dataclasses.replace(record, votes=votes)
    d.record(record)
    d.event(
        "promotion_vote",
        cmd.person,
        step=record.step,
        role=cmd.role,
        answer=cmd.answer.value,
        comment=cmd.comment,
    )
    answers = [Answer(v.answer) for v in votes]
    launched = all(
        sum(1 for v in votes if v.role == role and v.answer == Answer.LAUNCH.value)
        >= gate.quorum
        for role in gate.roles
    )
    given: list[Answer]
    if Answer.PIVOT in answers:
        given = [Answer.PIVOT]
    elif Answer.PAUSE in answers:
        given = [Answer.PAUSE]
    else:
        given = [Answer.LAUNCH] if launched else []
    probes = tuple(_probe(p) for p in record.probes)
    _decide(d, step_outcome(_spec(d.context, d.state.phase), probes, given))


def _probe(document: dict[str, Json]) -> ProbeResult:
    at = document.get("at")
    return ProbeResult(
        str(document.get("probe")),
        document.get("ok") is True,
        str(document.get("detail")),
        dt.datetime.fromisoformat(str(at)),
    )


def _checklist(d: _Draft, cmd: FinishManualPhase) -> None:
    record = d.state.current
    if record is None or d.state.status is RunStatus.WAITING_PREREQUISITES:
        raise CommandRefused("no promotion step has begun", code="not_waiting_for_that")
    spec = _spec(d.context, d.state.phase)
    marks = list(record.checklist)
    for item in cmd.done:
        if not 0 <= item < len(spec.checklist):
            raise CommandRefused(
                f"step {record.step + 1} has no checklist item {item + 1}",
                code="no_such_item",
            )
        entry = spec.checklist[item]
        if entry.role is not None and not _holds(d.context, cmd.person, entry.role):
            raise CommandRefused(
                f"{cmd.person} does not hold {entry.role}", code="not_allowed"
            )
        if entry.role is None and not any(
            cmd.person in r.people for r in d.context.plan.roles.values()
        ):
            raise CommandRefused(
                f"{cmd.person} holds no role in the plan", code="not_allowed"
            )
        if any(m.item == item for m in marks):
            raise CommandRefused(
                f"item {item + 1} is already done", code="already_done"
            )
        marks.append(SignedItem(item, cmd.person, d.now, cmd.note))
        d.event(
            "checklist_done",
            cmd.person,
            step=record.step,
            item=item,
            text=entry.text,
            at=iso(d.now),
            note=cmd.note,
        )
    if not cmd.done:
        raise CommandRefused("name the checklist items done", code="no_such_item")
    d.record(dataclasses.replace(record, checklist=tuple(marks)))
