"""Writing a machine `Step`: one transition, one unit of work.

`apply` checks the run's version, writes its new state, appends the step's
events, moves its flags (each change audited by the store and logged as a
`flag_set` event of the run), audits the transition itself, upserts incidents
enqueues the notices' outbox rows and marks the flags of a `retire_proposed`
event "ready to remove" (`store.flag_retirements`), all in one transaction: a failure
anywhere (a version that moved, a flag that is missing, the database) leaves
nothing written. Sending the notices is for `engine.dispatch`, after commit.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from flagramp.core.errors import EngineError
from flagramp.core.flags import Flag
from flagramp.core.types import Json
from flagramp.engine.flag_moves import (
    declared_flag,
    declared_segment,
    setting_change,
)
from flagramp.engine.machine import RunContext
from flagramp.engine.notifications.audience import roles_to_reach
from flagramp.engine.notify import Notice, enqueue
from flagramp.engine.steps import FlagMove, Step
from flagramp.store import Author, SqlFlagStore, SqlUnitOfWork
from flagramp.store.documents import flag_document
from flagramp.store.flag_retirements import mark_ready_to_remove
from flagramp.store.runs import (
    EventDraft,
    RunVersionMoved,
    adopt_plan_version,
    append_events,
    move_run,
    put_incident,
    require_run,
)

#: The event the runner logs for every flag a step actually changed.
FLAG_SET = "flag_set"
#: The audit entity kind of a run's transitions.
RUN_KIND = "run"
#: The machine's event proposing to retire the run's flags.
RETIRE_PROPOSED = "retire_proposed"


class RunConflict(EngineError):
    """Another writer moved the run since it was read: nothing was written;
    read the run again and decide afresh."""

    code = "run_conflict"

    def __init__(self, run: str, expected: int, found: int | None) -> None:
        self.run, self.expected, self.found = run, expected, found
        super().__init__(
            f"run {run} moved on (version {found}, not {expected}) while this "
            "transition was decided; nothing was written"
        )


@dataclass(frozen=True, slots=True)
class Applied:
    """What a transition wrote."""

    version: int
    """The run's version after it."""
    store_version: int
    """The store version of its unit of work."""
    seqs: tuple[int, ...]
    """The sequence numbers of the events it appended."""
    flags_changed: tuple[str, ...]


def apply(
    store: SqlFlagStore,
    run: RunContext,
    expected_version: int,
    step: Step,
    now: dt.datetime,
    author: Author,
    *,
    watched_version: int | None = None,
) -> Applied:
    """Write `step` for the run at `expected_version` in one unit of work.

    `watched_version` (the controller's) is the store version up to which
    outside changes were looked for. Raises RunConflict when the run's row is no
    longer at `expected_version`; any error leaves nothing written.
    """
    try:
        with store.unit_of_work(author) as unit:
            applied = write_step(
                unit, run, expected_version, step, now, watched_version=watched_version
            )
    except RunVersionMoved as exc:
        raise RunConflict(exc.run, exc.expected, exc.found) from exc
    return applied


def write_step(
    unit: SqlUnitOfWork,
    run: RunContext,
    expected_version: int,
    step: Step,
    now: dt.datetime,
    *,
    watched_version: int | None = None,
) -> Applied:
    """`apply` inside a unit of work the caller holds (starting a run creates
    its row and writes its first step in one). Raises RunVersionMoved."""
    before = require_run(unit.connection, run.run)
    if before.version != expected_version:
        raise RunVersionMoved(run.run, expected_version, before.version)
    status = step.state.status.value
    version = move_run(
        unit,
        run.run,
        expected_version=expected_version,
        status=status,
        state=step.state.to_json(),
        at=now,
        watched_version=watched_version,
    )
    adopted = getattr(step.state, "plan_version", None)
    if isinstance(adopted, int) and adopted != before.plan_version:
        # The machine adopted a revision (recorded by `RunService.revise`).
        adopt_plan_version(unit, run.run, adopted)
    drafts = [EventDraft(e.kind, e.actor, e.data) for e in step.events]
    changed: list[str] = []
    for move in step.flag_moves:
        moved = _move_flag(unit, run, move)
        if moved is not None:
            changed.append(move.flag)
            drafts.append(EventDraft(FLAG_SET, _actor(step), moved))
    seqs = append_events(unit, run.run, now, drafts)
    unit.record(
        run.environment,
        RUN_KIND,
        run.run,
        step.events[0].kind if step.events else "transition",
        {"status": before.status, "version": before.version},
        {
            "status": status,
            "version": version,
            "events": [seqs[0], seqs[-1]] if seqs else [],
            "flags": list(changed),
        },
    )
    for event in step.events:
        if event.kind == RETIRE_PROPOSED:
            _mark_retired(unit, run, event.data)
    for incident in step.incidents:
        put_incident(unit, run.run, incident.incident, incident.record, now)
    for index, draft in enumerate(step.notices):
        enqueue(
            unit,
            Notice(
                kind=draft.kind,
                run=run.run,
                environment=run.environment,
                title=draft.title,
                text=draft.text,
                key=_notice_key(run.run, seqs, version, index),
                at=now,
                roles=roles_to_reach(run.plan, draft.kind, also=draft.roles),
                data=draft.data,
            ),
        )
    return Applied(version, unit.write_version, tuple(seqs), tuple(changed))


def _move_flag(
    unit: SqlUnitOfWork, run: RunContext, move: FlagMove
) -> dict[str, Json] | None:
    """Set one flag as the move says; the run event's data if it changed."""
    environment = run.environment
    existing = unit.get_flag(move.flag, environment)
    if existing is None:
        created = declared_flag(run.plan, move.flag)
        if created is not None:
            existing = unit.create_flag(created, environment)
        # else change_flag below raises FlagNotFound: the plan expects it to exist
    if move.eligible is not None and move.eligible not in unit.segments(environment):
        segment = declared_segment(run.plan, move.eligible)
        if segment is not None:
            unit.put_segment(segment, environment)
    after = unit.change_flag(
        move.flag, setting_change(move), environment, action=move.reason
    )
    if existing is not None and after == existing:
        return None
    return {
        "flag": move.flag,
        "reason": move.reason,
        "percentage": move.percentage,
        "eligible": move.eligible,
        "allow_list": list(move.allow_list),
        "before": _gates(existing),
        "after": _gates(after),
    }


def _mark_retired(unit: SqlUnitOfWork, run: RunContext, data: dict[str, Json]) -> None:
    flags = data.get("flags")
    items = data.get("checklist")
    for flag in flags if isinstance(flags, list) else []:
        if not isinstance(flag, str):
            continue
        checklist: Json = [
            i for i in (items if isinstance(items, list) else [])
            if isinstance(i, dict) and i.get("flag") == flag
        ]  # fmt: skip
        mark_ready_to_remove(
            unit, run.environment, flag, run=run.run, checklist=checklist
        )


def _gates(flag: Flag | None) -> Json:
    return None if flag is None else flag_document(flag)["gates"]


def _actor(step: Step) -> str | None:
    """Who moved the flags: the person of the step's first event, if any."""
    return step.events[0].actor if step.events else None


def _notice_key(run: str, seqs: list[int], version: int, index: int) -> str:
    # Stable for the transition, so a notice enqueued again (a retried unit of
    # work) is delivered once: `<run>:<first event seq>`, then `.1`, `.2`, ...
    # for further notices of the same step.
    base = f"{run}:{seqs[0]}" if seqs else f"{run}:v{version}"
    return base if index == 0 else f"{base}.{index}"
