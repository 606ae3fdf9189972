"""Runs of release plans: start one, list them, show one, its log and its
incidents, and adopt a revision of its plan.

A run starts from a plan's text (a YAML body, or `{"text": ...}`) or from an
uploaded plan (`{"plan": name, "revision"?}`); the run keeps the exact text
and its hash. The person is the token's (`Identity.who`). The commands
(sign, vote, kill …) are in `routes.run_commands`.
"""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

import anyio.to_thread
from fastapi import Query, Request
from pydantic import ValidationError

from flagramp.core.identifiers import check_environment
from flagramp.core.plans.compose import MAX_BYTES
from flagramp.server.bodies import load_json
from flagramp.server.identity import Identity, allow
from flagramp.server.problems import (
    BODY_TOO_LARGE,
    INVALID_REQUEST,
    NOT_FOUND,
    ProblemError,
    responses,
)
from flagramp.server.routes.common import AUTH_PROBLEMS, State, api_router
from flagramp.server.routes.plans import YAML_TYPES
from flagramp.server.run_models import (
    Incident,
    IncidentList,
    LogEntry,
    PlanSource,
    RunDetail,
    RunList,
    RunLog,
    RunSummary,
    StartRun,
)
from flagramp.server.state import ServerState
from flagramp.store.plan_documents import PlanDocuments
from flagramp.store.tokens import Permission

router = api_router("runs")
Source = TypeVar("Source", bound=PlanSource)

READ = allow(Permission.VIEWER)
START = allow(Permission.ENGINEER)
READ_PROBLEMS = responses(*AUTH_PROBLEMS, 404)


def plan_body(schema: dict[str, object]) -> dict[str, object]:
    return {
        "requestBody": {
            "required": True,
            "content": {
                "application/yaml": {"schema": {"type": "string"}},
                "application/json": {"schema": schema},
            },
        }
    }


async def read_source(request: Request, model: type[Source]) -> Source:
    """The body as `model`: a YAML plan (a run's environment and observe mode
    then come from the query), or JSON of the model's shape."""
    body = await request.body()
    if len(body) > MAX_BYTES:
        raise ProblemError(BODY_TOO_LARGE, f"a plan holds at most {MAX_BYTES:,} bytes")
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media in YAML_TYPES:
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise ProblemError(INVALID_REQUEST, "the plan is not UTF-8 text") from None
        fields: dict[str, object] = {"text": text}
        query = request.query_params
        if "environment" in query:
            fields["environment"] = query["environment"]
        if "observe" in query:
            fields["observe"] = query["observe"].lower() in ("1", "true", "yes")
        document: object = fields
    elif media in ("application/json", ""):
        document = load_json(body)
    else:
        raise ProblemError(INVALID_REQUEST, f"send YAML or JSON, not {media[:60]!r}")
    try:
        return model.model_validate(document)
    except ValidationError as exc:
        errors = [_error(e) for e in exc.errors()]
        raise ProblemError(
            INVALID_REQUEST, f"{errors[0]['loc']}: {errors[0]['msg']}", errors=errors
        ) from None


def _error(error: Any) -> dict[str, str]:
    loc = ".".join(str(part) for part in error["loc"])
    return {"loc": loc, "msg": str(error["msg"]), "type": str(error["type"])}


def plan_text_of(state: ServerState, source: PlanSource) -> tuple[str, str]:
    """(text, file name) of the plan the body names or holds."""
    if (source.text is None) == (source.plan is None):
        raise ProblemError(
            INVALID_REQUEST,
            'send the plan\'s "text", or the "plan" name of an uploaded one',
        )
    if source.text is not None:
        return source.text, source.file
    assert source.plan is not None
    stored = PlanDocuments(state.store).get(source.plan, source.revision)
    if stored is None:
        revision = f" revision {source.revision}" if source.revision else ""
        raise ProblemError(NOT_FOUND, f"no plan {source.plan!r}{revision}")
    return stored.text, f"{stored.name} revision {stored.revision}"


@router.post(
    "/runs",
    status_code=201,
    response_model=RunSummary,
    responses=responses(*AUTH_PROBLEMS, 404, 413, 422),
    openapi_extra=plan_body(StartRun.model_json_schema()),
    summary="Start a run of a plan",
)
async def start_run(
    request: Request,
    state: State,
    who: Annotated[Identity, START],
) -> RunSummary:
    """Start a run from a plan's text or an uploaded plan: validated and
    compiled first (422 `plan_invalid` with every problem; nothing written)."""
    source = await read_source(request, StartRun)

    def start() -> RunSummary:
        text, file = plan_text_of(state, source)
        if source.environment is not None:
            check_environment(source.environment)
            if source.environment not in state.store.environments():
                raise ProblemError(NOT_FOUND, f"no environment {source.environment!r}")
        row = state.runs.start(
            text,
            person=who.who,
            file=file,
            environment=source.environment,
            observe=source.observe,
        )
        return RunSummary.of(row)

    return await anyio.to_thread.run_sync(start)


@router.get("/runs", response_model=RunList, responses=responses(*AUTH_PROBLEMS, 422))
def list_runs(
    state: State,
    who: Annotated[Identity, READ],
    status: Annotated[list[str] | None, Query(max_length=40)] = None,
) -> RunList:
    """Every run, oldest first; `?status=` (repeatable) keeps only those."""
    rows = state.runs.list(status or None)
    return RunList(runs=[RunSummary.of(r) for r in rows])


@router.get("/runs/{run}", response_model=RunDetail, responses=READ_PROBLEMS)
def show_run(run: str, state: State, who: Annotated[Identity, READ]) -> RunDetail:
    """Where the run is: state, what it waits for and from whom (roles and
    people), its phase and stage, its last evaluation, its incidents."""
    return RunDetail.of_view(state.runs.show(run))


@router.get("/runs/{run}/log", response_model=RunLog, responses=READ_PROBLEMS)
def run_log(
    run: str,
    state: State,
    who: Annotated[Identity, READ],
    since: Annotated[int, Query(ge=0, le=2**62)] = 0,
) -> RunLog:
    """The run's events after `since` (a seq), oldest first."""
    events = state.runs.log(run, since)
    return RunLog(
        run=run,
        events=[LogEntry.of(e) for e in events],
        last_seq=events[-1].seq if events else since,
    )


@router.get(
    "/runs/{run}/incidents", response_model=IncidentList, responses=READ_PROBLEMS
)
def run_incidents(
    run: str, state: State, who: Annotated[Identity, READ]
) -> IncidentList:
    """The run's incidents, each whole (trigger, severity, timeline, root cause)."""
    return IncidentList(
        run=run, incidents=[Incident.of(i) for i in state.runs.incidents(run)]
    )
