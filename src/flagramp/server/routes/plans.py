"""Release plans: validate, lint and diff (the loader's problems, with file,
line and field), and upload (each revision kept exactly as sent)."""

from __future__ import annotations

import math
from typing import Annotated, Any

import anyio.to_thread
from fastapi import Query, Request
from pydantic import BaseModel, Field

from flagramp.core.plans import (
    LoadedPlan,
    PlanInvalid,
    Problem,
    detectability,
    diff,
    lint,
    load_plan,
)
from flagramp.core.plans.compose import MAX_BYTES
from flagramp.engine.power import detectable_effect
from flagramp.server.bodies import load_json
from flagramp.server.identity import Identity, allow
from flagramp.server.problems import (
    BODY_TOO_LARGE,
    INVALID_REQUEST,
    NOT_FOUND,
    ProblemError,
    responses,
)
from flagramp.server.routes.common import (
    AUTH_PROBLEMS,
    STORE_INT_MAX,
    State,
    api_router,
)
from flagramp.server.state import ServerState
from flagramp.store.plan_documents import PlanDocuments, StoredPlan
from flagramp.store.tokens import Permission

router = api_router("plans")

YAML_TYPES = ("application/yaml", "application/x-yaml", "text/yaml", "text/plain")
PLAN_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/yaml": {"schema": {"type": "string"}},
            "application/json": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "text": {"type": "string"},
                        "file": {"type": "string"},
                    },
                    "required": ["text"],
                }
            },
        },
    }
}


class PlanProblem(BaseModel):
    file: str
    line: int
    column: int
    path: str
    message: str
    hint: str
    level: str


class Validation(BaseModel):
    valid: bool
    problems: list[PlanProblem]


class DetectabilityRow(BaseModel):
    phase: str
    stage: str
    criterion: str
    mde: float
    unit: str
    detectable: float | None
    catches_mde: bool | None


class Lint(Validation):
    detectability: list[DetectabilityRow]


class DiffRequest(BaseModel):
    old: str = Field(description="The running revision's text")
    new: str = Field(description="The proposed revision's text")
    passed: list[str] = Field(default_factory=list, description="PHASE/STAGE passed")


class DiffChange(BaseModel):
    where: str
    text: str
    flagged: bool
    reason: str


class PlanDiff(BaseModel):
    changes: list[DiffChange]


class PlanView(BaseModel):
    name: str
    revision: int
    sha256: str
    environment: str
    uploaded_at: str
    uploaded_by: str


class UploadedPlan(PlanView):
    created: bool
    warnings: list[PlanProblem]


class PlanText(PlanView):
    text: str


class PlanList(BaseModel):
    plans: list[PlanView]


async def plan_text(request: Request) -> tuple[str, str]:
    """(text, file name) from a YAML body or `{"text", "file"}`."""
    body = await request.body()
    if len(body) > MAX_BYTES:
        raise ProblemError(BODY_TOO_LARGE, f"a plan holds at most {MAX_BYTES:,} bytes")
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media in ("application/json", ""):
        document = load_json(body)
        if not isinstance(document, dict) or not isinstance(document.get("text"), str):
            raise ProblemError(INVALID_REQUEST, 'send YAML, or {"text": "<the plan>"}')
        file = document.get("file")
        return document["text"], file if isinstance(file, str) else "plan.yaml"
    if media not in YAML_TYPES:
        raise ProblemError(INVALID_REQUEST, f"a plan is YAML or JSON, not {media!r}")
    try:
        return body.decode("utf-8"), "plan.yaml"
    except UnicodeDecodeError:
        raise ProblemError(INVALID_REQUEST, "the plan is not UTF-8 text") from None


def _problems(problems: tuple[Problem, ...] | list[Problem]) -> list[PlanProblem]:
    return [PlanProblem(**p.to_json()) for p in problems]


def _load(text: str, file: str) -> LoadedPlan:
    return load_plan(text, file)


@router.post(
    "/plans/validate",
    response_model=Validation,
    responses=responses(*AUTH_PROBLEMS, 413, 422),
    openapi_extra=PLAN_BODY,
)
async def validate(
    request: Request, who: Annotated[Identity, allow(Permission.VIEWER)]
) -> Validation:
    """Check a plan: every problem, with file, line, column and field."""
    text, file = await plan_text(request)
    try:
        await anyio.to_thread.run_sync(_load, text, file)
    except PlanInvalid as exc:
        return Validation(valid=False, problems=_problems(exc.problems))
    return Validation(valid=True, problems=[])


@router.post(
    "/plans/lint",
    response_model=Lint,
    responses=responses(*AUTH_PROBLEMS, 413, 422),
    openapi_extra=PLAN_BODY,
)
async def lint_plan(
    request: Request, state: State, who: Annotated[Identity, allow(Permission.VIEWER)]
) -> Lint:
    """Warnings for likely mistakes, and what each stage can detect; the flags'
    current state is read from the store."""
    text, file = await plan_text(request)
    return await anyio.to_thread.run_sync(_lint, state, text, file)


def _lint(state: ServerState, text: str, file: str) -> Lint:
    try:
        loaded = _load(text, file)
    except PlanInvalid as exc:
        return Lint(valid=False, problems=_problems(exc.problems), detectability=[])
    plan = loaded.plan
    states: dict[str, float] = {}
    for key in plan.flags:
        flag = state.store.get_flag(key, plan.environment)
        if flag is not None:
            pct = flag.percentage_of_actors
            states[key] = 100.0 if flag.is_fully_on else (pct.value if pct else 0.0)
    warnings = lint(loaded, states, detectable_effect)
    rows = [
        DetectabilityRow(
            phase=row.query.phase,
            stage=row.query.stage,
            criterion=row.query.criterion,
            mde=row.query.mde,
            unit=row.query.unit.value,
            detectable=(
                None if row.effect is None or math.isinf(row.effect) else row.effect
            ),
            catches_mde=row.catches_mde,
        )
        for row in detectability(plan, detectable_effect)
    ]
    return Lint(valid=True, problems=_problems(warnings), detectability=rows)


@router.post(
    "/plans/diff",
    response_model=PlanDiff,
    responses=responses(*AUTH_PROBLEMS, 422),
)
def diff_plans(
    body: DiffRequest, who: Annotated[Identity, allow(Permission.VIEWER)]
) -> PlanDiff:
    """What a revision changes; flagged changes weaken a running plan."""
    refs: list[tuple[str, str]] = []
    for item in body.passed:
        phase, sep, stage = item.partition("/")
        if not sep or not phase or not stage:
            raise ProblemError(
                INVALID_REQUEST, f"passed {item[:80]!r}: write PHASE/STAGE"
            )
        refs.append((phase, stage))
    old = _load(body.old, "old.yaml").plan
    new = _load(body.new, "new.yaml").plan
    return PlanDiff(
        changes=[
            DiffChange(where=c.where, text=c.text, flagged=c.flagged, reason=c.reason)
            for c in diff(old, new, refs)
        ]
    )


def _view(stored: StoredPlan) -> dict[str, Any]:
    return {
        "name": stored.name,
        "revision": stored.revision,
        "sha256": stored.sha256,
        "environment": stored.environment,
        "uploaded_at": stored.uploaded_at,
        "uploaded_by": stored.uploaded_by,
    }


@router.post(
    "/plans",
    status_code=201,
    response_model=UploadedPlan,
    responses=responses(*AUTH_PROBLEMS, 409, 413, 422),
    openapi_extra=PLAN_BODY,
)
async def upload_plan(
    request: Request, state: State, who: Annotated[Identity, allow(Permission.ENGINEER)]
) -> UploadedPlan:
    """Upload a plan revision (checked first: an invalid plan is 422
    `plan_invalid` with every problem). The same text again is answered as it
    was; another text under a stored revision is 409."""
    text, file = await plan_text(request)
    return await anyio.to_thread.run_sync(_upload, state, who, text, file)


def _upload(state: ServerState, who: Identity, text: str, file: str) -> UploadedPlan:
    loaded = _load(text, file)
    plan = loaded.plan
    stored, created = PlanDocuments(state.store).upload(
        plan.name, plan.revision, plan.environment, text, who.author()
    )
    return UploadedPlan(
        **_view(stored), created=created, warnings=_problems(lint(loaded))
    )


@router.get("/plans", response_model=PlanList, responses=responses(*AUTH_PROBLEMS))
def list_plans(
    state: State, who: Annotated[Identity, allow(Permission.VIEWER)]
) -> PlanList:
    """The newest revision of every uploaded plan."""
    return PlanList(
        plans=[PlanView(**_view(p)) for p in PlanDocuments(state.store).latest()]
    )


@router.get(
    "/plans/{name}", response_model=PlanText, responses=responses(*AUTH_PROBLEMS, 404)
)
def get_plan(
    name: str,
    state: State,
    who: Annotated[Identity, allow(Permission.VIEWER)],
    revision: Annotated[int | None, Query(ge=0, le=STORE_INT_MAX)] = None,
) -> PlanText:
    """A plan's text as uploaded (the newest revision unless one is asked)."""
    stored = PlanDocuments(state.store).get(name, revision)
    if stored is None:
        raise ProblemError(
            NOT_FOUND,
            f"no plan {name!r}" + (f" revision {revision}" if revision else ""),
        )
    return PlanText(**_view(stored), text=stored.text)
