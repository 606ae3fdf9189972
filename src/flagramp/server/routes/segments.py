"""Segments: named sets of rules on actor properties (groups and eligibility)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query, Response
from pydantic import BaseModel, Field

from flagramp.core.errors import SegmentNotFound
from flagramp.core.flags import Segment
from flagramp.core.flags.model import unique
from flagramp.core.identifiers import TEXT_MAX
from flagramp.server.identity import EnvironmentIn, Identity, SdkScope, allow
from flagramp.server.models import SegmentDocument
from flagramp.server.problems import responses
from flagramp.server.routes.common import AUTH_PROBLEMS, State, api_router
from flagramp.store.documents import segment_document
from flagramp.store.tokens import Permission

router = api_router("segments")

Environment = Annotated[
    str | None, Query(max_length=64, description="Default: production")
]
READ = allow(
    Permission.VIEWER, sdk=SdkScope.FLAGS_READ, environment=EnvironmentIn.QUERY
)


class SegmentList(BaseModel):
    segments: list[SegmentDocument]


class SegmentDefinition(BaseModel):
    rules: list[str] = Field(min_length=1, description='e.g. "ehr in [oracle]"')
    description: str = Field("", max_length=TEXT_MAX)
    why: str = Field("", max_length=TEXT_MAX)


def _document(segment: Segment) -> SegmentDocument:
    return SegmentDocument(**segment_document(segment))


@router.get(
    "/segments", response_model=SegmentList, responses=responses(*AUTH_PROBLEMS)
)
def list_segments(
    state: State, who: Annotated[Identity, READ], environment: Environment = None
) -> SegmentList:
    """The environment's segments, by name."""
    env = who.environment(environment)
    return SegmentList(
        segments=[_document(s) for s in state.store.segments(env).values()]
    )


@router.get(
    "/segments/{name:path}",
    response_model=SegmentDocument,
    responses=responses(*AUTH_PROBLEMS, 404),
)
def get_segment(
    name: str,
    state: State,
    who: Annotated[Identity, READ],
    environment: Environment = None,
) -> SegmentDocument:
    """One segment."""
    env = who.environment(environment)
    segment = state.store.segments(env).get(name)
    if segment is None:
        raise SegmentNotFound(name, env)
    return _document(segment)


@router.put(
    "/segments/{name:path}",
    response_model=SegmentDocument,
    responses=responses(*AUTH_PROBLEMS, 422),
)
def put_segment(
    name: str,
    body: SegmentDefinition,
    state: State,
    who: Annotated[
        Identity, allow(Permission.ENGINEER, environment=EnvironmentIn.QUERY)
    ],
    environment: Environment = None,
) -> SegmentDocument:
    """Create or replace a segment; every rule must hold for an actor to be in it."""
    env = who.environment(environment)
    segment = Segment.from_rules(name, unique(body.rules), body.description)
    return _document(state.store.put_segment(segment, who.author(body.why), env))


@router.delete(
    "/segments/{name:path}",
    status_code=204,
    responses=responses(*AUTH_PROBLEMS, 404, 409),
)
def delete_segment(
    name: str,
    state: State,
    who: Annotated[
        Identity, allow(Permission.OPERATOR, environment=EnvironmentIn.QUERY)
    ],
    environment: Environment = None,
    why: Annotated[str, Query(max_length=TEXT_MAX)] = "",
) -> Response:
    """Remove a segment; refused (409) while a flag is limited to it."""
    state.store.delete_segment(name, who.author(why), who.environment(environment))
    return Response(status_code=204)
