"""`AsyncClient`: the SDK for asyncio apps (ASGI servers, async workers).

Evaluation is the same synchronous call as `Client`'s (no I/O, nothing to
await). Updates and event delivery run as two tasks on the loop that `start()`
(or `async with`) runs on; until then the client serves its bootstrap or cache.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from types import TracebackType
from typing import Unpack

import httpx
from httpx_sse import EventSource

from flagramp.sdk._backoff import Backoff
from flagramp.sdk._base import BaseClient, ClientOptions
from flagramp.sdk._http import STREAM_READ_TIMEOUT, base_headers
from flagramp.sdk._updates import UpdateState

logger = logging.getLogger("flagramp.sdk")


class AsyncClient(BaseClient):
    """`Client`'s twin for asyncio.

        async with AsyncClient("https://flags.example", token, "production") as c:
            await c.wait_until_ready(5)
            if c.is_enabled("new_checkout", "User;42"):
                ...

    Options are `Client`'s; `transport` is an `httpx.AsyncBaseTransport`.
    `is_enabled`, `evaluate` and `track` may be called from any thread.
    """

    def __init__(
        self,
        url: str | None,
        token: str | None,
        environment: str,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        **settings: Unpack[ClientOptions],
    ) -> None:
        super().__init__(url, token, environment, **settings)
        self._transport = transport
        self._tasks: list[asyncio.Task[None]] = []
        self._http: httpx.AsyncClient | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None
        self._send_lock: asyncio.Lock | None = None
        self._ready: asyncio.Event | None = None

    async def start(self) -> None:
        """Start updating and delivering on the running loop (once)."""
        if self._loop is not None or self._closed:
            return
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        self._send_lock = asyncio.Lock()
        self._ready = asyncio.Event()
        if self._from_server.is_set():
            self._ready.set()
        options = self._options
        if options.api_url is None:
            return
        self._http = httpx.AsyncClient(
            base_url=options.api_url,
            transport=self._transport,
            headers=base_headers(options.token),
            timeout=options.timeout,
        )
        if options.updates != "off":
            self._tasks.append(asyncio.create_task(self._run_updates()))
        if options.send_events:
            self._tasks.append(asyncio.create_task(self._run_sender()))

    async def wait_until_ready(self, timeout: float | None = None) -> bool:
        """Wait until flags from the server are served (at most `timeout`
        seconds); True if they are."""
        await self.start()
        assert self._ready is not None
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._ready.wait(), timeout)
        return self._from_server.is_set()

    async def flush(self, timeout: float | None = 10.0) -> bool:
        """Deliver the events recorded so far; True if none is left undelivered."""
        if self._http is None or not self._options.send_events:
            return self._outbox.pending == 0 or not self._options.send_events
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._send_pending(), timeout)
        return self._outbox.pending == 0

    async def aclose(self, timeout: float = 10.0) -> None:
        """Stop the tasks, deliver the queued events (at most `timeout` seconds),
        release the connections."""
        if self._closed:
            return
        self._closed = True
        deadline = time.monotonic() + timeout
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self._http is not None:
            await self.flush(max(0.0, deadline - time.monotonic()))
            await self._http.aclose()
        self._recording = False

    async def __aenter__(self) -> AsyncClient:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    # --- updates ------------------------------------------------------------------

    async def _run_updates(self) -> None:
        state = UpdateState(self, self._backoff())
        while True:
            try:
                if state.mode == "stream":
                    await self._stream_once(state)
                    delay = state.backoff.next_delay()
                else:
                    await self._poll_once(state)
                    delay = state.poll_delay()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                delay = state.failed(exc)
            await asyncio.sleep(delay)

    async def _stream_once(self, state: UpdateState) -> None:
        assert self._http is not None
        async with self._http.stream(
            "GET",
            "/stream",
            params=state.stream_params(),
            headers=state.stream_headers(),
            timeout=httpx.Timeout(self._options.timeout, read=STREAM_READ_TIMEOUT),
        ) as response:
            if response.status_code != 200:
                await response.aread()
            state.check_stream(response)
            async for event in EventSource(response).aiter_sse():
                if self._handle_stream_event(event.event, event.data, event.id):
                    state.received()

    async def _poll_once(self, state: UpdateState) -> None:
        assert self._http is not None
        response = await self._http.get(
            state.snapshot_path(), headers=state.poll_headers()
        )
        state.read_poll(response)
        state.received()

    def _served_from_server(self) -> None:
        if self._ready is not None:
            self._set_threadsafe(self._ready)

    # --- events -------------------------------------------------------------------

    async def _run_sender(self) -> None:
        assert self._wake is not None
        backoff = self._backoff()
        delay = self._options.flush_interval
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), delay)
            self._wake.clear()
            self._check_clock()
            if await self._send_pending():
                backoff.reset()
                delay = self._options.flush_interval
            else:
                delay = backoff.next_delay()

    async def _send_pending(self) -> bool:
        assert self._http is not None and self._send_lock is not None
        async with self._send_lock:
            while True:
                batch = self._outbox.next_batch()
                if batch is None:
                    return True
                body, headers = self._outbox.body(batch)
                try:
                    response = await self._http.post(
                        "/events", content=body, headers=headers
                    )
                except httpx.HTTPError as exc:
                    self._outbox.settle(batch, None, exc)
                    return False
                except BaseException:
                    self._outbox.requeue(batch)  # cancelled: the key is sent again
                    raise
                if not self._outbox.settle(batch, response, None):
                    return False

    def _wake_sender(self) -> None:
        if self._wake is not None:
            self._set_threadsafe(self._wake)

    def _set_threadsafe(self, event: asyncio.Event) -> None:
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            event.set()
        else:
            loop.call_soon_threadsafe(event.set)

    def _backoff(self) -> Backoff:
        return Backoff(self._options.retry_base, self._options.retry_max, self._random)
