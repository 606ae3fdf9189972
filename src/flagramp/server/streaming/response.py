"""The server's SSE responses: keep-alives, and an end for clients that stop reading.

A client that connects and never reads (or reads slower than events come)
fills the socket's buffers; from then on each send waits, and the stream would
hold its place (the hub's subscriber and its queue, a dashboard stream slot)
for as long as the connection stays open. So each send (an event or a
keep-alive) may wait `ServerSettings.stream_send_timeout_seconds`: past that
the stream's generator is closed (its `finally` gives everything back), the
background task runs, `on_send_timeout` is called (a metric) and the response
ends without its last chunk, which the ASGI server answers by closing the
connection.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable

from sse_starlette import EventSourceResponse, ServerSentEvent
from sse_starlette.sse import SendTimeoutError
from starlette.background import BackgroundTask
from starlette.types import Receive, Scope, Send

from flagramp.server.settings import ServerSettings

logger = logging.getLogger(__name__)

#: Headers of every stream: proxies must neither cache nor buffer it.
STREAM_HEADERS = {"cache-control": "no-cache", "x-accel-buffering": "no"}


class TimedEventSourceResponse(EventSourceResponse):
    """A stream of `content` with `: keep-alive` every `keepalive_seconds` and
    each send bounded by `stream_send_timeout_seconds`; past that it ends
    quietly and calls `on_send_timeout`."""

    def __init__(
        self,
        content: AsyncIterator[ServerSentEvent],
        settings: ServerSettings,
        *,
        on_send_timeout: Callable[[], None],
        background: BackgroundTask | None = None,
    ) -> None:
        super().__init__(
            content,
            background=background,
            ping=settings.keepalive_seconds,
            ping_message_factory=lambda: ServerSentEvent(comment="keep-alive"),
            headers=STREAM_HEADERS,
            send_timeout=settings.stream_send_timeout_seconds,
        )
        self.on_send_timeout = on_send_timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        except* SendTimeoutError:
            # The client stopped reading; the generator is closed by now. One
            # line, no traceback: it is the client's doing, not a fault. The
            # event's send and the keep-alive's run side by side, and on a
            # busy loop both can time out in one turn: the library then
            # raises a group of two, which a plain `except` would let through
            # as an ASGI error with the stream's place never given back.
            logger.warning(
                "stream %s ended: a send blocked for more than %g s",
                scope.get("path", "?"),
                self.send_timeout,
            )
            self.on_send_timeout()
            if self.background is not None:
                await self.background()
