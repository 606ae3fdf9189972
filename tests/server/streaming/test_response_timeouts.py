"""`TimedEventSourceResponse` ends quietly however many of its sends time out:
on a busy machine the event's send and the keep-alive's can both pass their
deadline in the same turn of the loop, and the two timeouts arrive together."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import anyio
from sse_starlette import ServerSentEvent
from starlette.background import BackgroundTask
from starlette.types import Message

from flagramp.server.settings import ServerSettings
from flagramp.server.streaming.response import TimedEventSourceResponse

SEND_TIMEOUT = 0.2


async def _one_event() -> AsyncIterator[ServerSentEvent]:
    yield ServerSentEvent(data="first")
    await anyio.sleep_forever()


def test_an_event_and_a_keepalive_timing_out_together_end_the_stream_once() -> None:
    ended: list[str] = []
    sent: list[Message] = []

    async def receive() -> Message:
        await anyio.sleep_forever()
        raise AssertionError("unreachable")

    async def send(message: Message) -> None:
        sent.append(message)
        if message["type"] != "http.response.body":
            return
        if b"keep-alive" in message["body"]:
            # The loop stalls past both sends' deadlines (the event's began
            # first): when it runs again, both are due in the same turn.
            time.sleep(SEND_TIMEOUT * 2)
        await anyio.sleep_forever()  # a client that never reads

    settings = ServerSettings(
        keepalive_seconds=0.01, stream_send_timeout_seconds=SEND_TIMEOUT
    )
    response = TimedEventSourceResponse(
        _one_event(),
        settings,
        on_send_timeout=lambda: ended.append("timeout"),
        background=BackgroundTask(lambda: ended.append("background")),
    )
    scope = {"type": "http", "method": "GET", "path": "/stream"}

    async def main() -> None:
        with anyio.fail_after(5):
            await response(scope, receive, send)

    anyio.run(main)
    assert ended == ["timeout", "background"]
    bodies = [m["body"] for m in sent if m["type"] == "http.response.body"]
    assert bodies[0].startswith(b"data: first")
    assert any(b"keep-alive" in body for body in bodies)
