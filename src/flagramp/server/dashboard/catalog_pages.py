"""Segments (per environment) and environments: what flags are limited to and
where they live. Read-only pages: segments are changed through the API or CLI."""

from __future__ import annotations

from typing import Annotated

import anyio.to_thread
from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from flagramp.server.dashboard.access import Viewer, dashboard_state, viewer
from flagramp.server.state import server_state
from flagramp.store import DEFAULT_ENVIRONMENT

router = APIRouter(include_in_schema=False)


@router.get("/segments")
async def segments(
    request: Request, who: Annotated[Viewer, Depends(viewer)]
) -> Response:
    """An environment's segments, their rules, and the flags limited to each."""
    state = server_state(request)
    environments = state.store.environments() or [DEFAULT_ENVIRONMENT]
    asked = request.query_params.get("environment")
    environment = asked if asked in environments else environments[0]
    if asked is None and DEFAULT_ENVIRONMENT in environments:
        environment = DEFAULT_ENVIRONMENT

    def read() -> list[dict[str, object]]:
        flags = state.store.list_flags(environment)
        return [
            {
                "name": segment.name,
                "rules": list(segment.rules()),
                "description": segment.description,
                "flags": [f.key for f in flags if f.eligibility == segment.name],
            }
            for segment in state.store.segments(environment).values()
        ]

    rows = await anyio.to_thread.run_sync(read)
    return dashboard_state(request).pages.render(
        "segments.html",
        {
            **who.context(),
            "section": "segments",
            "environment": environment,
            "environments": environments,
            "segments": rows,
        },
    )


@router.get("/environments")
async def environments(
    request: Request, who: Annotated[Viewer, Depends(viewer)]
) -> Response:
    """Every environment with how many flags it holds, and how many are on."""
    state = server_state(request)

    def read() -> list[dict[str, object]]:
        rows: list[dict[str, object]] = []
        for env in state.store.environments():
            flags = state.store.list_flags(env)
            rows.append(
                {
                    "name": env,
                    "flags": len(flags),
                    "on": sum(1 for f in flags if f.state == "on"),
                    "conditional": sum(1 for f in flags if f.state == "conditional"),
                    "segments": len(state.store.segments(env)),
                }
            )
        return rows

    rows = await anyio.to_thread.run_sync(read)
    return dashboard_state(request).pages.render(
        "environments.html",
        {**who.context(), "section": "environments", "environments": rows},
    )
