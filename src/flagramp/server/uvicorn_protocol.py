"""uvicorn's HTTP protocol, with a close that cannot wait for ever.

uvicorn ends a connection with `transport.close()`, which first sends what is
still buffered. A client that stopped reading never takes it, so a stream
dropped for it (`streaming.response`) kept its socket, its buffers and its
place in the server's connections as long as the client kept the connection
open. Here a close still flushes, but a connection whose buffer has not
shrunk for `CLOSE_GRACE_SECONDS`, or that is not gone `CLOSE_MAX_SECONDS`
after its close, is reset.

`flagramp serve` names the class by `HTTP_PROTOCOL` (a string, so that worker
processes import it as they import the app).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
from typing import Any, cast

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

#: uvicorn's `http` option for this protocol.
HTTP_PROTOCOL = "flagramp.server.uvicorn_protocol:AbortingHttpProtocol"

#: Seconds a closed connection may go without its unsent data shrinking.
CLOSE_GRACE_SECONDS = 30.0
#: Seconds a closed connection may take in all to send what it holds.
CLOSE_MAX_SECONDS = 300.0


class AbortingHttpProtocol(HttpToolsProtocol):
    """`HttpToolsProtocol` whose connection is reset when, after a close, its
    buffer has not shrunk for `close_grace_seconds` (a client still reading
    a long answer keeps it), or is still not empty `close_max_seconds` after
    the close (a trickle must not hold it, or a shutdown, for ever)."""

    close_grace_seconds = CLOSE_GRACE_SECONDS
    close_max_seconds = CLOSE_MAX_SECONDS

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        self._watching: asyncio.TimerHandle | None = None
        self._closed = False
        # A stand-in, not a subclass: `asyncio.Transport`'s methods are stubs
        # that raise, and would shadow the delegation.
        super().connection_made(cast(asyncio.Transport, _GracedClose(transport, self)))

    def connection_lost(self, exc: Exception | None) -> None:
        self._closed = True
        if self._watching is not None:
            self._watching.cancel()  # gone in time: nothing kept for the grace
        super().connection_lost(exc)

    def closing(self, transport: asyncio.Transport) -> None:
        """Its transport was asked to close: watch that it goes."""
        if self._watching is None and not self._closed:
            self._close_by = self.loop.time() + self.close_max_seconds
            self._watch(transport, transport.get_write_buffer_size())

    def _watch(self, transport: asyncio.Transport, left: int) -> None:
        self._watching = self.loop.call_later(
            self.close_grace_seconds, self._gone_or_reset, transport, left
        )

    def _gone_or_reset(self, transport: asyncio.Transport, left: int) -> None:
        sock = transport.get_extra_info("socket")
        if self._closed or sock is None or sock.fileno() < 0:
            # Gone (after an upgrade, the lost connection is told to the
            # WebSocket protocol, not to this one).
            return
        now = transport.get_write_buffer_size()
        if now < left and self.loop.time() < self._close_by:
            self._watch(transport, now)  # the client is taking it: more time
            return
        with contextlib.suppress(OSError, ValueError):
            # A reset, not a close: with unsent data the kernel would keep
            # trying to deliver it.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_OFF)
        transport.abort()


#: SO_LINGER on, for 0 s: `close` sends a reset and drops what is unsent.
_LINGER_OFF = struct.pack("ii", 1, 0)


class _GracedClose:
    """The connection's transport as the protocol sees it: all of it, but a
    `close` also tells the protocol."""

    def __init__(
        self, transport: asyncio.Transport, protocol: AbortingHttpProtocol
    ) -> None:
        self._transport = transport
        self._protocol = protocol
        # What each request calls, bound here rather than looked up through
        # `__getattr__` every time.
        self.write = transport.write
        self.is_closing = transport.is_closing

    def close(self) -> None:
        self._transport.close()
        self._protocol.closing(self._transport)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)
