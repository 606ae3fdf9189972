"""Environments, and each one's snapshot (the SDK's bootstrap and poll)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Request, Response
from pydantic import BaseModel, Field

from flagramp.core.identifiers import ENVIRONMENT_MAX
from flagramp.server.identity import EnvironmentIn, Identity, SdkScope, allow
from flagramp.server.models import Snapshot
from flagramp.server.positions import position_etag
from flagramp.server.problems import CONFLICT, ProblemError, responses
from flagramp.server.routes.common import AUTH_PROBLEMS, State, api_router
from flagramp.store.tokens import Permission

router = api_router("environments")


class EnvironmentList(BaseModel):
    environments: list[str]


class NewEnvironment(BaseModel):
    name: str = Field(max_length=ENVIRONMENT_MAX)
    why: str = ""


@router.get(
    "/environments",
    response_model=EnvironmentList,
    responses=responses(*AUTH_PROBLEMS),
    summary="List environments",
)
def list_environments(
    state: State, who: Annotated[Identity, allow(Permission.VIEWER)]
) -> EnvironmentList:
    return EnvironmentList(environments=state.store.environments())


@router.post(
    "/environments",
    status_code=201,
    response_model=EnvironmentList,
    responses=responses(*AUTH_PROBLEMS, 409, 422),
    summary="Create an environment",
)
def create_environment(
    body: NewEnvironment,
    state: State,
    who: Annotated[Identity, allow(Permission.ADMIN)],
) -> EnvironmentList:
    if body.name in state.store.environments():
        raise ProblemError(CONFLICT, f"environment {body.name!r} exists")
    with state.store.unit_of_work(who.author(body.why)) as unit:
        unit.record(
            body.name, "environment", body.name, "create", None, {"name": body.name}
        )
    return EnvironmentList(environments=state.store.environments())


def etag_matches(if_none_match: str, etag: str) -> bool:
    """Whether an `If-None-Match` header names `etag` (or is `*`)."""
    for candidate in if_none_match.split(","):
        tag = candidate.strip().removeprefix("W/")
        if tag in ("*", etag):
            return True
    return False


@router.get(
    "/environments/{env}/snapshot",
    response_model=Snapshot,
    responses={
        **responses(*AUTH_PROBLEMS, 404),
        304: {"description": "The store version is the one the client has"},
    },
    summary="The environment's flags and segments at the current store version",
    description=(
        '`ETag` is the store version (strong; `"<version>.<epoch>"` once a '
        "restore gave the store a new epoch). Send it back in `If-None-Match` "
        "to get `304` with no body while nothing changed."
    ),
)
def get_snapshot(
    env: str,
    request: Request,
    state: State,
    who: Annotated[
        Identity,
        allow(
            Permission.VIEWER, sdk=SdkScope.FLAGS_READ, environment=EnvironmentIn.PATH
        ),
    ],
) -> Response:
    environment = who.environment(env)
    asked = request.headers.get("if-none-match")
    position = state.store.position()
    if asked is not None and etag_matches(asked, position_etag(position)):
        state.metrics.snapshots.labels("not_modified").inc()
        return Response(status_code=304, headers={"etag": position_etag(position)})
    snapshot = state.snapshots.get(environment, position)
    if asked is not None and etag_matches(asked, snapshot.etag):
        state.metrics.snapshots.labels("not_modified").inc()
        return Response(status_code=304, headers={"etag": snapshot.etag})
    state.metrics.snapshots.labels("full").inc()
    return Response(
        snapshot.body,
        media_type="application/json",
        headers={"etag": snapshot.etag, "cache-control": "no-cache"},
    )
