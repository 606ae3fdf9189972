"""`GET /api/v1/stream`: the environment's flag changes as Server-Sent Events."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

import anyio.to_thread
from fastapi import Header, Query, Request
from sse_starlette import EventSourceResponse, ServerSentEvent

from flagramp.server.identity import EnvironmentIn, Identity, SdkScope, allow
from flagramp.server.problems import NOT_FOUND, ProblemError, responses
from flagramp.server.routes.common import AUTH_PROBLEMS, State, api_router
from flagramp.server.streaming.events import parse_last_position, stream_events
from flagramp.server.streaming.response import TimedEventSourceResponse
from flagramp.store.tokens import Permission

router = api_router("stream")

DESCRIPTION = """\
First a `snapshot` event (the snapshot document; `id` is its store version),
then one `change` event per store version that changed the environment's flags
or segments: `{"version": 43, "changes": [{"kind", "key", "action", "after"}]}`,
`id` 43. A client that reconnects with `Last-Event-ID: 43` gets every change
after 43 and no snapshot (a fresh snapshot if 43 is not a version of this
store). After a backup restore every client gets a fresh `snapshot`, and from
then on ids carry the store's new epoch (`52.3fa29c1b07d4`); a `Last-Event-ID`
of another epoch gets a snapshot too. A `: keep-alive` comment comes every 15 s.
A client that stops reading has its stream ended once one send to it has
waited 30 s (`FLAGRAMP_STREAM_SEND_TIMEOUT`)."""


@router.get(
    "/stream",
    response_class=EventSourceResponse,
    responses={
        200: {"content": {"text/event-stream": {}}, "description": "The event stream"},
        **responses(*AUTH_PROBLEMS, 404),
    },
    summary="Stream flag changes (SSE)",
    description=DESCRIPTION,
)
async def stream(
    request: Request,
    state: State,
    who: Annotated[
        Identity,
        allow(
            Permission.VIEWER, sdk=SdkScope.FLAGS_READ, environment=EnvironmentIn.QUERY
        ),
    ],
    environment: Annotated[str | None, Query(max_length=64)] = None,
    last_event_id: Annotated[str | None, Header(max_length=40)] = None,
) -> EventSourceResponse:
    env = who.environment(environment)
    known = await anyio.to_thread.run_sync(state.store.environments)
    if env not in known:
        raise ProblemError(NOT_FOUND, f"no environment {env!r}")
    metrics = state.metrics

    async def events() -> AsyncIterator[ServerSentEvent]:
        metrics.stream_clients.labels(env).inc()
        try:
            async for event in stream_events(
                hub=state.hub,
                store=state.store,
                snapshots=state.snapshots,
                environment=env,
                last_event_id=parse_last_position(last_event_id),
                on_event=lambda kind: metrics.stream_events.labels(kind).inc(),
            ):
                yield event
        finally:
            metrics.stream_clients.labels(env).dec()

    return TimedEventSourceResponse(
        events(),
        state.settings,
        on_send_timeout=metrics.stream_send_timeouts.labels("flags").inc,
    )
