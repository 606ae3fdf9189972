"""`/healthz` (the process answers) and `/readyz` (the store can serve)."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel
from sqlalchemy.exc import SQLAlchemyError

from flagramp.core.errors import FlagrampError
from flagramp.server.bodies import ApiRoute
from flagramp.server.problems import STORE_UNAVAILABLE, ProblemError, responses
from flagramp.server.routes.common import State
from flagramp.store.connections import short_reason
from flagramp.store.database import current_revision, head_revision

router = APIRouter(route_class=ApiRoute, tags=["health"])


class Health(BaseModel):
    status: str


class Readiness(BaseModel):
    status: str
    store_version: int
    schema_revision: str


@router.get("/healthz", response_model=Health, summary="Liveness")
def healthz() -> Health:
    return Health(status="ok")


@router.get(
    "/readyz",
    response_model=Readiness,
    responses=responses(503),
    summary="Readiness: the store answers and is at the newest schema",
)
def readyz(state: State) -> Readiness:
    try:
        version = state.store.version()
        revision = current_revision(state.store.engine)
    except FlagrampError as exc:
        raise ProblemError(STORE_UNAVAILABLE, str(exc)) from exc
    except SQLAlchemyError as exc:
        raise ProblemError(STORE_UNAVAILABLE, short_reason(exc)) from exc
    head = head_revision()
    if revision != head:
        raise ProblemError(
            STORE_UNAVAILABLE, f"the schema is at {revision or 'nothing'}, not {head}"
        )
    return Readiness(status="ready", store_version=version, schema_revision=head)
