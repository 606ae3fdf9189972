"""People's commands to a run: sign, answer, vote, pause, resume, kill,
incident, re-enable, confirm-revert, revise, finish, milestone, abort, complete.

Every command is the token's person's: an engineer token (or above) lets a
person send it here, and the engine's machine then checks that they hold the
plan role it needs. A refusal answers the machine's stable code
(`problems.COMMAND_REFUSALS`): 403 `not_your_role` for a role the person lacks,
409 for a command the run cannot take now; nothing is written then. Service
tokens send no commands (403 `not_a_person`): a sign-off counts only from a
person.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

import anyio.to_thread
from fastapi import Request

from flagramp.engine import commands as cmds
from flagramp.engine.runner import Applied
from flagramp.server.identity import Identity, allow
from flagramp.server.problems import NOT_A_PERSON, ProblemError, responses
from flagramp.server.routes.common import AUTH_PROBLEMS, State, api_router
from flagramp.server.routes.runs import plan_body, plan_text_of, read_source
from flagramp.server.run_models import (
    AnswerBody,
    CommandAnswer,
    FinishBody,
    IncidentBody,
    MilestoneBody,
    NoteBody,
    PlanSource,
    ReEnableBody,
    SignBody,
    VoteBody,
)
from flagramp.server.state import ServerState
from flagramp.store.tokens import OwnerKind, Permission

router = api_router("runs")

COMMAND = allow(Permission.ENGINEER)
PROBLEMS = responses(*AUTH_PROBLEMS, 404, 409, 422)
Who = Annotated[Identity, COMMAND]


def person_of(who: Identity) -> str:
    """The person who commands; raises 403 `not_a_person` for a service."""
    if who.token.owner_kind is not OwnerKind.PERSON:
        raise ProblemError(
            NOT_A_PERSON, f"{who.who} is a service; run commands come from people"
        )
    return who.who


async def send(state: ServerState, run: str, cmd: cmds.Command) -> CommandAnswer:
    """Apply `cmd` through the run service, off the event loop."""

    def apply() -> CommandAnswer:
        applied = state.runs.command(run, cmd)
        return _answer(state, run, applied)

    return await anyio.to_thread.run_sync(apply)


def _note(body: NoteBody | None) -> str:
    return "" if body is None else body.note


def _note_command(
    suffix: str, name: str, doc: str, command: Callable[[str, str], cmds.Command]
) -> None:
    """Register `POST /runs/{run}/suffix` as endpoint `name`: the person's
    `command` with the body's optional note (the commands that say no more)."""

    async def endpoint(
        run: str, state: State, who: Who, body: NoteBody | None = None
    ) -> CommandAnswer:
        return await send(state, run, command(person_of(who), _note(body)))

    endpoint.__name__ = endpoint.__qualname__ = name
    endpoint.__doc__ = doc
    router.post(
        f"/runs/{{run}}/{suffix}", response_model=CommandAnswer, responses=PROBLEMS
    )(endpoint)


def _answer(state: ServerState, run: str, applied: Applied) -> CommandAnswer:
    return CommandAnswer.of(run, applied, state.runs.reader.load(run).status)


@router.post("/runs/{run}/sign", response_model=CommandAnswer, responses=PROBLEMS)
async def sign(run: str, body: SignBody, state: State, who: Who) -> CommandAnswer:
    """Sign a prerequisite (numbered from 1) for a role you hold."""
    return await send(
        state, run, cmds.SignPrerequisite(person_of(who), body.item - 1, body.note)
    )


@router.post("/runs/{run}/answer", response_model=CommandAnswer, responses=PROBLEMS)
async def answer(run: str, body: AnswerBody, state: State, who: Who) -> CommandAnswer:
    """Answer a question the stage (or a go-live checkpoint) records."""
    cmd = cmds.AnswerQuestion(person_of(who), body.question, body.text, body.checkpoint)
    return await send(state, run, cmd)


@router.post("/runs/{run}/vote", response_model=CommandAnswer, responses=PROBLEMS)
async def vote(run: str, body: VoteBody, state: State, who: Who) -> CommandAnswer:
    """Answer the go/no-go for a role you hold: launch, pause or pivot."""
    cmd = cmds.Vote(person_of(who), body.role, body.answer, body.comment)
    return await send(state, run, cmd)


_note_command(
    "pause",
    "pause",
    "Pause the run (its flags stay where they are).",
    cmds.Pause,
)


_note_command(
    "resume",
    "resume",
    "Resume a paused run.",
    cmds.Resume,
)


_note_command(
    "kill",
    "kill",
    "The kill switch: every flag of the run off for everyone, at once.",
    cmds.Kill,
)


@router.post("/runs/{run}/incident", response_model=CommandAnswer, responses=PROBLEMS)
async def incident(
    run: str, body: IncidentBody, state: State, who: Who
) -> CommandAnswer:
    """Raise an incident by hand: the plan's action for its severity applies."""
    cmd = cmds.RaiseIncident(person_of(who), body.severity, body.note)
    return await send(state, run, cmd)


@router.post("/runs/{run}/re-enable", response_model=CommandAnswer, responses=PROBLEMS)
async def re_enable(
    run: str, body: ReEnableBody, state: State, who: Who
) -> CommandAnswer:
    """Approve re-enabling after a rollback or kill, with the root cause."""
    stage = None if body.stage is None else body.stage - 1
    cmd = cmds.ReEnable(person_of(who), body.root_cause, stage)
    return await send(state, run, cmd)


_note_command(
    "confirm-revert",
    "confirm_revert",
    "Confirm that the revert is deployed.",
    cmds.ConfirmRevert,
)


@router.post("/runs/{run}/finish", response_model=CommandAnswer, responses=PROBLEMS)
async def finish(run: str, body: FinishBody, state: State, who: Who) -> CommandAnswer:
    """End the manual phase (checklist items done numbered from 1)."""
    done = tuple(i - 1 for i in body.done)
    cmd = cmds.FinishManualPhase(person_of(who), done, body.note)
    return await send(state, run, cmd)


@router.post("/runs/{run}/milestone", response_model=CommandAnswer, responses=PROBLEMS)
async def milestone(
    run: str, body: MilestoneBody, state: State, who: Who
) -> CommandAnswer:
    """Record a plan milestone as met today (its owner role or the plan's owner)."""
    cmd = cmds.MeetMilestone(person_of(who), body.name, body.note)
    return await send(state, run, cmd)


_note_command(
    "abort",
    "abort",
    "Abort the run (the owner or product owner); flags stay as they are.",
    cmds.Abort,
)


_note_command(
    "complete",
    "complete",
    "Complete a live run once every checkpoint is recorded.",
    cmds.CompleteRun,
)


@router.post(
    "/runs/{run}/revise",
    response_model=CommandAnswer,
    responses=responses(*AUTH_PROBLEMS, 404, 409, 413, 422),
    openapi_extra=plan_body(PlanSource.model_json_schema()),
)
async def revise(run: str, request: Request, state: State, who: Who) -> CommandAnswer:
    """Adopt a new version of the run's plan (a YAML body, `{"text"}`, or an
    uploaded `{"plan", "revision"}`); the diff is recorded, and a revision that
    loosens the plan needs the product owner."""
    person = person_of(who)
    source = await read_source(request, PlanSource)

    def adopt() -> CommandAnswer:
        text, file = plan_text_of(state, source)
        applied = state.runs.revise(run, text, person=person, file=file)
        return _answer(state, run, applied)

    return await anyio.to_thread.run_sync(adopt)
