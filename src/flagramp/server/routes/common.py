"""What every router shares: the state dependency and the route class."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from starlette.requests import HTTPConnection

from flagramp.server.bodies import ApiRoute
from flagramp.server.state import ServerState, server_state


async def _state(connection: HTTPConnection) -> ServerState:
    # Async: FastAPI runs a plain function dependency in a worker thread, a
    # hop per request for reading an attribute.
    return server_state(connection)


State = Annotated[ServerState, Depends(_state)]

#: The largest integer a query may name: a store version, row id or revision is
#: a 64-bit signed integer in every backend, and a larger one cannot even be
#: sent to the database (it would answer 500, not 422).
STORE_INT_MAX = 2**63 - 1

#: Problem answers every authenticated route may give.
AUTH_PROBLEMS = (401, 403, 429, 503)


def api_router(tag: str) -> APIRouter:
    """A router for one resource, with flagramp's route class."""
    return APIRouter(route_class=ApiRoute, tags=[tag])
