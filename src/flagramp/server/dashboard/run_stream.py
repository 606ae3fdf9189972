"""`GET /dashboard/runs/{run}/guards/stream`: a run's guard data over SSE.

The run page's charts read this instead of polling `guards.json`. The stream
sends a `guards` event (the same document as `guards.json`) first and then
whenever the run's log grows, with the log's last sequence number as the event
id; a browser that reconnects with `Last-Event-ID` equal to that number gets
nothing until the log grows again. A `: keep-alive` comment comes every
`keepalive_seconds` (server settings), and the stream ends when the browser goes
or its session expires.

Why poll the log: the controller may run in another process (or on another
replica), and the flag change hub carries flag versions, not run events, so
there is nothing in process to wait on; reading the run's events after the last
sequence seen is one indexed query, asked every `stream_poll_seconds` (server
settings, as the flag stream's safety net), and the guard series is rebuilt
only when it returns something.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Annotated, Any

import anyio
import anyio.to_thread
from fastapi import APIRouter, Depends, Header, Request
from sse_starlette import EventSourceResponse, ServerSentEvent
from starlette.background import BackgroundTask
from starlette.responses import JSONResponse, Response

from flagramp.server.dashboard.access import Viewer, dashboard_state, viewer
from flagramp.server.dashboard.run_views import guard_series
from flagramp.server.dashboard.runs_port import RunsPort
from flagramp.server.state import server_state
from flagramp.server.streaming.events import parse_last_event_id

router = APIRouter(include_in_schema=False)


def guards_event(document: dict[str, Any], seq: int) -> ServerSentEvent:
    """A `guards` event: the run's guard series as of log sequence `seq`."""
    return ServerSentEvent(
        data=json.dumps(document, separators=(",", ":"), ensure_ascii=False),
        event="guards",
        id=str(seq),
    )


def last_seq(runs: RunsPort, run: str, since: int) -> int | None:
    """The run's newest log sequence after `since` (None: nothing new)."""
    events = runs.log(run, since)
    return max((e.seq for e in events), default=None)


def guard_document(runs: RunsPort, run: str) -> tuple[dict[str, Any], int] | None:
    """The guard series and the log's last sequence, or None for no such run."""
    try:
        detail = runs.show(run)
    except KeyError:
        return None
    log = runs.log(run)
    seq = max((e.seq for e in log), default=0)
    return dict(guard_series(log, detail.last_evaluation)), seq


@router.get("/runs/{run}/guards/stream")
async def run_guards_stream(
    request: Request,
    run: str,
    who: Annotated[Viewer, Depends(viewer)],
    last_event_id: Annotated[str | None, Header(max_length=40)] = None,
) -> Response:
    """The run's guard series, sent again whenever the run's log grows."""
    state = dashboard_state(request)
    runs = state.runs
    if runs is None:
        return JSONResponse({"criteria": {}}, status_code=503)
    first = await anyio.to_thread.run_sync(guard_document, runs, run)
    if first is None:
        return JSONResponse({"criteria": {}}, status_code=404)
    seen = parse_last_event_id(last_event_id)
    server = server_state(request)
    settings = server.settings
    slot = state.streams.take(who.identity.token.id)
    if slot is None:
        # The page falls back to polling guards.json (run.js) on an error.
        return JSONResponse(
            {"criteria": {}, "detail": "too many open streams"},
            status_code=429,
            headers={"retry-after": "30"},
        )

    async def events() -> AsyncIterator[ServerSentEvent]:
        try:
            async for event in _guard_events(request, run, who, first, seen):
                yield event
        finally:
            slot.release()

    return EventSourceResponse(
        events(),
        # Should the response end without running `events` (sse-starlette
        # answers HEAD so; the route takes GET only today), this gives it back.
        background=BackgroundTask(slot.release),
        ping=settings.keepalive_seconds,
        ping_message_factory=lambda: ServerSentEvent(comment="keep-alive"),
        headers={"cache-control": "no-cache", "x-accel-buffering": "no"},
    )


async def _guard_events(
    request: Request,
    run: str,
    who: Viewer,
    first: tuple[dict[str, Any], int],
    seen: int | None,
) -> AsyncIterator[ServerSentEvent]:
    """The stream's events: the series unless the browser has it, then again
    whenever the run's log grows, until the browser goes or the session ends."""
    runs = dashboard_state(request).runs
    assert runs is not None  # checked before the stream began
    server = server_state(request)
    settings = server.settings
    document, seq = first
    if seen != seq:
        yield guards_event(document, seq)
    while True:
        await anyio.sleep(settings.stream_poll_seconds)
        if await request.is_disconnected():
            return
        # The session clock, as `viewer` reads it: the run's clock is virtual
        # under `demo --serve` and weeks ahead (the stream ended at once).
        if who.session.is_expired(server.session_clock.now()):
            return  # the page's next request goes to the login page
        newer = await anyio.to_thread.run_sync(last_seq, runs, run, seq)
        if newer is None or newer <= seq:
            continue
        found = await anyio.to_thread.run_sync(guard_document, runs, run)
        if found is None:
            return
        document, seq = found
        yield guards_event(document, seq)
