"""`flagramp plan start` and `flagramp run …`: plan runs for people.

Each command parses its arguments, calls one `RunService` method and prints;
the machine decides and refuses (`CommandRefused`, one line, exit 1). Until the
server brings tokens, people say who they are with `--as PERSON` (default:
FLAGRAMP_USER, else the login name); the machine accepts a command only from a
person who holds the plan role it needs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from flagramp.cli.commands import App
from flagramp.cli.options import JsonOption, author, open_store
from flagramp.cli.output import console, emit_json, fail, user_errors
from flagramp.cli.plan import plan_app, read_plan_text
from flagramp.cli.text import count
from flagramp.core.clock import SystemClock
from flagramp.core.plans import Answer, PlanInvalid
from flagramp.core.severity import Severity
from flagramp.engine import commands as cmds
from flagramp.engine.runner import Applied
from flagramp.engine.service import RunService
from flagramp.store.runs import RunRow
from flagramp.store.windows import WindowStore

run_app = App(help="Plan runs: where they are, what they wait for, and commands.")

RunArg = Annotated[str, typer.Argument(metavar="RUN", help="A run id (R1, …).")]
PersonOption = Annotated[
    str | None,
    typer.Option(
        "--as",
        envvar="FLAGRAMP_USER",
        metavar="PERSON",
        help="Who acts: a person of the plan's roles (default FLAGRAMP_USER).",
    ),
]
NoteOption = Annotated[str, typer.Option("--note", "-m", help="A note for the log.")]


def service() -> RunService:
    """The run service on the configured store, with the wall clock."""
    store = open_store()
    return RunService(store, WindowStore(store.engine), SystemClock())


def person_of(given: str | None) -> str:
    """--as, else FLAGRAMP_USER, else the login name."""
    return author(given, "").who


# --- plan start ---------------------------------------------------------------------


def plan_start(
    file: Annotated[Path, typer.Argument(metavar="FILE", help="A plan file (YAML).")],
    env: Annotated[
        str | None,
        typer.Option("--env", "-e", metavar="ENV", help="Default: the plan's."),
    ] = None,
    observe: Annotated[
        bool,
        typer.Option(
            "--observe",
            help="Observe mode: every move waits for a person; guards only report.",
        ),
    ] = False,
    person: PersonOption = None,
    as_json: JsonOption = False,
) -> None:
    """Start a run of a plan: its exact text and hash are kept with the run."""
    with user_errors():
        try:
            text = read_plan_text(file)
            row = service().start(
                text,
                person=person_of(person),
                file=str(file),
                environment=env,
                observe=observe,
            )
        except PlanInvalid as exc:
            first = exc.problems[0] if exc.problems else "invalid"
            fail(
                f"{file} has {len(exc.problems)} problem(s), first: {first} "
                f"(see `flagramp plan validate {file}`)"
            )
    if as_json:
        emit_json(_row_json(row))
        return
    mode = " in observe mode" if row.observe else ""
    console.print(
        f"started run {row.id} of {row.plan_name} in {row.environment}{mode}: "
        f"{row.status}"
    )


# `plan start` is a plan command made of the runs' code: the root loads the
# plan commands from here (`cli/app.COMMANDS`), so that they always have it.
plan_app.command("start")(plan_start)


# --- reads --------------------------------------------------------------------------


@run_app.command("list")
def list_(
    status: Annotated[
        list[str] | None, typer.Option(metavar="STATUS", help="Only these.")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Every run, oldest first."""
    with user_errors():
        rows = service().list(status or None)
    if as_json:
        emit_json([_row_json(row) for row in rows])
        return
    table = Table("run", "plan", "env", "status", "version", "updated")
    table.title = "runs"
    for row in rows:
        table.add_row(
            row.id,
            row.plan_name,
            row.environment,
            row.status,
            str(row.version),
            row.updated_at[:19],
        )
    console.print(table)


@run_app.command()
def show(run: RunArg, as_json: JsonOption = False) -> None:
    """Where the run is, what it waits for and who must act."""
    with user_errors():
        view = service().show(run)
    if as_json:
        emit_json(view.to_json())
        return
    row = view.row
    console.print(f"run {row.id}: {row.plan_name} in {row.environment}")
    console.print(f"  status: {row.status}{' (observe mode)' if row.observe else ''}")
    if view.phase is not None:
        console.print(f"  phase: {view.phase}")
    if view.stage is not None:
        console.print(f"  stage: {view.stage}")
    if view.waiting_for:
        console.print(f"  waiting for: {view.waiting_for}")
    for incident in view.incidents:
        severity = incident.record.get("severity", "?")
        console.print(f"  incident {incident.incident}: {severity}")
    for m in view.milestones:
        actual = "not met yet" if m.actual is None else f"met {m.actual}"
        late = m.days_late
        if late:
            actual += f" ({count(abs(late), 'day')} {'late' if late > 0 else 'early'})"
        console.print(f"  milestone {m.name}: target {m.target}, {actual}")
    checks = (view.last_evaluation or {}).get("checks")
    if isinstance(checks, list):
        for check in checks:
            if isinstance(check, dict):
                decision = check.get("decision")
                outcome = (
                    decision.get("outcome") if isinstance(decision, dict) else decision
                )
                console.print(f"  {check.get('criterion')}: {outcome}")


@run_app.command()
def log(
    run: RunArg,
    since: Annotated[int, typer.Option(min=0, help="After this seq.")] = 0,
    as_json: JsonOption = False,
) -> None:
    """The run's event log, oldest first."""
    with user_errors():
        found = service().log(run, since)
    if as_json:
        emit_json([event.to_json() for event in found])
        return
    for event in found:
        who = f" by {event.actor}" if event.actor else ""
        console.print(f"{event.seq:>5} {event.at[:19]} {event.kind}{who}")


@run_app.command()
def incidents(run: RunArg, as_json: JsonOption = False) -> None:
    """The run's incidents, whole."""
    with user_errors():
        found = service().incidents(run)
    if as_json:
        emit_json([{"incident": i.incident, **i.record} for i in found])
        return
    for incident in found:
        record = incident.record
        console.print(
            f"{incident.incident}: {record.get('severity', '?')} "
            f"({record.get('trigger', '?')}), updated {incident.updated_at[:19]}"
        )


# --- commands -----------------------------------------------------------------------


def _command(run: str, cmd: cmds.Command, as_json: bool = False) -> None:
    with user_errors():
        applied = service().command(run, cmd)
    _say(run, applied, as_json)


def _say(run: str, applied: Applied, as_json: bool) -> None:
    if as_json:
        emit_json(
            {
                "run": run,
                "version": applied.version,
                "events": list(applied.seqs),
                "flags_changed": list(applied.flags_changed),
            }
        )
        return
    moved = f"; flags set: {', '.join(applied.flags_changed)}" * bool(
        applied.flags_changed
    )
    console.print(f"run {run} at version {applied.version}{moved}")


@run_app.command()
def sign(
    run: RunArg,
    item: Annotated[int, typer.Argument(metavar="ITEM", help="Prerequisite, from 1.")],
    person: PersonOption = None,
    note: NoteOption = "",
) -> None:
    """Sign a prerequisite (for a role you hold)."""
    if item < 1:
        fail("prerequisites are numbered from 1")
    _command(run, cmds.SignPrerequisite(person_of(person), item - 1, note))


@run_app.command()
def answer(
    run: RunArg,
    question: Annotated[str, typer.Argument(metavar="QUESTION")],
    text: Annotated[str, typer.Argument(metavar="TEXT")],
    person: PersonOption = None,
    checkpoint: Annotated[
        str | None,
        typer.Option(
            "--checkpoint",
            metavar="NAME",
            help="A go-live checkpoint's name (default: the latest one waiting "
            "for this question).",
        ),
    ] = None,
) -> None:
    """Answer a question the stage or a go-live checkpoint records."""
    _command(run, cmds.AnswerQuestion(person_of(person), question, text, checkpoint))


@run_app.command()
def approve(
    run: RunArg,
    role: Annotated[str, typer.Option(metavar="ROLE", help="The role you vote for.")],
    launch: Annotated[bool, typer.Option("--launch", help="Go on.")] = False,
    pause: Annotated[bool, typer.Option("--pause", help="Pause the run.")] = False,
    pivot: Annotated[
        bool,
        typer.Option(
            "--pivot", help="Step back; a revision follows (a promotion: No-Go)."
        ),
    ] = False,
    comment: Annotated[str, typer.Option(metavar="TEXT")] = "",
    person: PersonOption = None,
) -> None:
    """Answer the go/no-go for a role: --launch, --pause or --pivot."""
    chosen = [a for a, on in ((Answer.LAUNCH, launch), (Answer.PAUSE, pause),
                              (Answer.PIVOT, pivot)) if on]  # fmt: skip
    if len(chosen) != 1:
        fail("say exactly one of --launch, --pause or --pivot")
    _command(run, cmds.Vote(person_of(person), role, chosen[0], comment))


@run_app.command("pause")
def pause_(run: RunArg, person: PersonOption = None, note: NoteOption = "") -> None:
    """Pause the run (flags stay where they are)."""
    _command(run, cmds.Pause(person_of(person), note))


@run_app.command()
def resume(run: RunArg, person: PersonOption = None, note: NoteOption = "") -> None:
    """Resume a paused run."""
    _command(run, cmds.Resume(person_of(person), note))


@run_app.command()
def kill(run: RunArg, person: PersonOption = None, note: NoteOption = "") -> None:
    """The kill switch: every flag of the run off for everyone, at once."""
    _command(run, cmds.Kill(person_of(person), note))


@run_app.command()
def incident(
    run: RunArg,
    severity: Annotated[Severity, typer.Option(help="critical, high, medium, low.")],
    note: Annotated[str, typer.Option("--note", "-m", help="What was seen.")],
    person: PersonOption = None,
) -> None:
    """Raise an incident by hand: the plan's action for its severity applies."""
    _command(run, cmds.RaiseIncident(person_of(person), severity, note))


@run_app.command("re-enable")
def re_enable(
    run: RunArg,
    root_cause: Annotated[str, typer.Option(metavar="TEXT", help="Required.")],
    stage: Annotated[
        int | None, typer.Option(metavar="N", help="Resume at this stage (from 1).")
    ] = None,
    person: PersonOption = None,
) -> None:
    """Approve re-enabling after a rollback or kill."""
    if stage is not None and stage < 1:
        fail("stages are numbered from 1")
    index = None if stage is None else stage - 1
    _command(run, cmds.ReEnable(person_of(person), root_cause, index))


@run_app.command("confirm-revert")
def confirm_revert(
    run: RunArg, person: PersonOption = None, note: NoteOption = ""
) -> None:
    """Confirm the revert is deployed."""
    _command(run, cmds.ConfirmRevert(person_of(person), note))


@run_app.command()
def revise(
    run: RunArg,
    file: Annotated[Path, typer.Argument(metavar="FILE", help="The new plan.")],
    person: PersonOption = None,
) -> None:
    """Adopt a new version of the run's plan; the diff is recorded."""
    with user_errors():
        try:
            text = read_plan_text(file)
            applied = service().revise(
                run, text, person=person_of(person), file=str(file)
            )
        except PlanInvalid as exc:
            first = exc.problems[0] if exc.problems else "invalid"
            fail(f"{file} has {len(exc.problems)} problem(s), first: {first}")
    _say(run, applied, False)


@run_app.command()
def finish(
    run: RunArg,
    done: Annotated[
        list[int] | None, typer.Option(metavar="ITEM", help="Checklist item done.")
    ] = None,
    person: PersonOption = None,
    note: NoteOption = "",
) -> None:
    """End the manual phase (its checklist done), or record a promotion
    step's checklist items done (who, day and time are recorded)."""
    items = tuple(i - 1 for i in (done or ()))
    if any(i < 0 for i in items):
        fail("checklist items are numbered from 1")
    _command(run, cmds.FinishManualPhase(person_of(person), items, note))


@run_app.command()
def complete(run: RunArg, person: PersonOption = None, note: NoteOption = "") -> None:
    """Complete a live run after its last checkpoint, with people's questions
    still open (the owner or product owner)."""
    _command(run, cmds.CompleteRun(person_of(person), note))


@run_app.command()
def milestone(
    run: RunArg,
    name: Annotated[str, typer.Argument(metavar="NAME", help="As the plan has it.")],
    person: PersonOption = None,
    note: NoteOption = "",
) -> None:
    """Record a plan milestone as met today (its owner role or the plan's
    owner); `run show` and the report give target and actual."""
    _command(run, cmds.MeetMilestone(person_of(person), name, note))


@run_app.command()
def abort(run: RunArg, person: PersonOption = None, note: NoteOption = "") -> None:
    """Abort the run (the owner or product owner)."""
    _command(run, cmds.Abort(person_of(person), note))


def _row_json(row: RunRow) -> dict[str, object]:
    return {
        "run": row.id,
        "plan": row.plan_name,
        "plan_version": row.plan_version,
        "plan_hash": row.plan_hash,
        "environment": row.environment,
        "status": row.status,
        "observe": row.observe,
        "version": row.version,
        "created_by": row.created_by,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
    }


__all__ = ["plan_app", "run_app", "service"]
