"""What every router shares: the state dependency and the route class."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from flagramp.server.bodies import ApiRoute
from flagramp.server.state import ServerState, server_state

State = Annotated[ServerState, Depends(server_state)]

#: Problem answers every authenticated route may give.
AUTH_PROBLEMS = (401, 403, 429, 503)


def api_router(tag: str) -> APIRouter:
    """A router for one resource, with flagramp's route class."""
    return APIRouter(route_class=ApiRoute, tags=[tag])
