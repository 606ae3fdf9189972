"""`GET /dashboard/runs/{run}/guards/stream`: a run's guard data over SSE.

The run page's charts read this instead of polling `guards.json`. The stream
sends a `guards` event (the same document as `guards.json`: the log's
evaluations and the current look) first and then whenever the run's log grows;
and whenever only the run's current look changes (the controller's tick wrote
new decisions into the run's state, `engine.looks`, without a log event), a
`guards` event with that look's points alone, which the page adds to what it
has. The event id says which log sequence and which look: `SEQ` or `SEQ.MINUTE`
(the look's epoch minute). A browser that reconnects with `Last-Event-ID` equal
to the current id gets nothing until something changes. A `: keep-alive`
comment comes every `keepalive_seconds` (server settings), and the stream ends
when the browser goes, its session expires or its token is revoked (the
session's token id is looked up again at every poll, as `access.viewer` does
at every request), or when one send to it waits longer than
`stream_send_timeout_seconds` (a browser that stopped reading must not keep its
slot).

Why poll: the controller may run in another process (or on another replica),
and the flag change hub carries flag versions, not run events, so there is
nothing in process to wait on. Every `stream_poll_seconds` (server settings, as
the flag stream's safety net) the stream reads the run's events after the last
sequence seen and the run's row (two indexed queries, besides the token's row);
the whole series is rebuilt only when the log grew.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Annotated, Any

import anyio
import anyio.to_thread
from fastapi import APIRouter, Depends, Header, Request
from sse_starlette import ServerSentEvent
from starlette.background import BackgroundTask
from starlette.responses import JSONResponse, Response

from flagramp.core.types import Json
from flagramp.server.dashboard.access import Viewer, dashboard_state, viewer
from flagramp.server.dashboard.run_views import guard_series, look_id
from flagramp.server.dashboard.runs_port import RunsPort
from flagramp.server.state import server_state
from flagramp.server.streaming.response import TimedEventSourceResponse

router = APIRouter(include_in_schema=False)


def guards_event(document: dict[str, Any], ident: str) -> ServerSentEvent:
    """A `guards` event: guard series (or the current look's points) as of
    the event id `ident` (`event_id`)."""
    return ServerSentEvent(
        data=json.dumps(document, separators=(",", ":"), ensure_ascii=False),
        event="guards",
        id=ident,
    )


def event_id(seq: int, look: str) -> str:
    """`SEQ`, or `SEQ.MINUTE` when the run's state holds a look of that minute."""
    return f"{seq}.{look}" if look else str(seq)


def last_seq(runs: RunsPort, run: str, since: int) -> int | None:
    """The run's newest log sequence after `since` (None: nothing new)."""
    events = runs.log(run, since)
    return max((e.seq for e in events), default=None)


def current_looks(runs: RunsPort, run: str) -> Json | None:
    """The looks the run's state holds (None too for no such run)."""
    try:
        return runs.row(run).state.get("looks")
    except KeyError:
        return None


def guard_document(runs: RunsPort, run: str) -> tuple[dict[str, Any], int, str] | None:
    """The guard series, the log's last sequence and the look's id, or None
    for no such run."""
    try:
        detail = runs.show(run)
    except KeyError:
        return None
    log = runs.log(run)
    seq = max((e.seq for e in log), default=0)
    looks = detail.row.state.get("looks")
    return dict(guard_series(log, detail.last_evaluation, looks)), seq, look_id(looks)


@router.get("/runs/{run}/guards/stream")
async def run_guards_stream(
    request: Request,
    run: str,
    who: Annotated[Viewer, Depends(viewer)],
    last_event_id: Annotated[str | None, Header(max_length=40)] = None,
) -> Response:
    """The run's guard series, sent again whenever the run's log grows or its
    current look moves."""
    state = dashboard_state(request)
    runs = state.runs
    if runs is None:
        return JSONResponse({"criteria": {}}, status_code=503)
    first = await anyio.to_thread.run_sync(guard_document, runs, run)
    if first is None:
        return JSONResponse({"criteria": {}}, status_code=404)
    # Compared as sent, never parsed: any text is just "not the current id".
    seen = (last_event_id or "").strip()
    settings = server_state(request).settings
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

    return TimedEventSourceResponse(
        events(),
        settings,
        on_send_timeout=server_state(request)
        .metrics.stream_send_timeouts.labels("guards")
        .inc,
        # Should the response end without running `events` (sse-starlette
        # answers HEAD so; the route takes GET only today), this gives it back.
        background=BackgroundTask(slot.release),
    )


async def _guard_events(
    request: Request,
    run: str,
    who: Viewer,
    first: tuple[dict[str, Any], int, str],
    seen: str,
) -> AsyncIterator[ServerSentEvent]:
    """The stream's events: the series unless the browser has it, then again
    whenever the run's log grows, and a look's points whenever only the look
    moved, until the browser goes or the session ends."""
    runs = dashboard_state(request).runs
    assert runs is not None  # checked before the stream began
    server = server_state(request)
    settings = server.settings
    document, seq, look = first
    if seen != event_id(seq, look):
        yield guards_event(document, event_id(seq, look))
    while True:
        await anyio.sleep(settings.stream_poll_seconds)
        if await request.is_disconnected():
            return
        # The session clock, as `viewer` reads it: the run's clock is virtual
        # under `demo --serve` and weeks ahead (the stream ended at once).
        if who.session.is_expired(server.session_clock.now()):
            return  # the page's next request goes to the login page
        # Revoking the token ends an open stream too, as `viewer` would end
        # the next request (one indexed lookup; streams per token are bounded).
        token_id = who.session.token_id
        if await anyio.to_thread.run_sync(server.tokens.active, token_id) is None:
            return
        newer = await anyio.to_thread.run_sync(last_seq, runs, run, seq)
        if newer is not None and newer > seq:
            found = await anyio.to_thread.run_sync(guard_document, runs, run)
            if found is None:
                return
            document, seq, look = found
            yield guards_event(document, event_id(seq, look))
            continue
        looks = await anyio.to_thread.run_sync(current_looks, runs, run)
        if look_id(looks) == look:
            continue
        # Only the look moved: its points alone, which the page adds.
        look = look_id(looks)
        yield guards_event(guard_series((), None, looks), event_id(seq, look))
