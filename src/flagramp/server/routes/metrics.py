"""`GET /metrics`: Prometheus' text format (viewer tokens and above)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Response

from flagramp.server.identity import Identity, allow
from flagramp.server.metrics import CONTENT_TYPE
from flagramp.server.problems import responses
from flagramp.server.routes.common import State, api_router
from flagramp.store.tokens import Permission

router = api_router("metrics")


@router.get(
    "/metrics",
    response_class=Response,
    responses={
        200: {"content": {CONTENT_TYPE: {}}, "description": "Prometheus text"},
        **responses(401, 403, 429),
    },
    summary="Prometheus metrics",
)
def prometheus(
    state: State, who: Annotated[Identity, allow(Permission.VIEWER)]
) -> Response:
    return Response(state.metrics.render(), media_type=CONTENT_TYPE)
