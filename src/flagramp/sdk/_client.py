"""`Client`: the SDK for threaded apps (WSGI servers, scripts, workers).

Two daemon threads do the I/O: one keeps the flags current (the SSE stream, or
polling with ETag), one delivers events in batches. Evaluation happens on the
caller's thread from the compiled table and never waits for either.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import socket
import threading
import time
import weakref
from collections.abc import Callable
from types import TracebackType
from typing import Unpack

import httpx
from httpx_sse import EventSource

from flagramp.sdk._backoff import Backoff
from flagramp.sdk._base import BaseClient, ClientOptions
from flagramp.sdk._http import STREAM_READ_TIMEOUT, base_headers
from flagramp.sdk._updates import UpdateState

logger = logging.getLogger("flagramp.sdk")


class Client(BaseClient):
    """Flags of one environment, evaluated locally, kept current from the server.

        client = Client("https://flags.example", token, "production",
                        cache_path="/var/cache/app/flags.json")
        if client.is_enabled("new_checkout", "User;42", {"ehr": "oracle"}):
            ...
        client.close()  # delivers the events still queued

    `url=None` serves only `bootstrap` (a snapshot or Flipper export file, or
    its parsed JSON) and the cache, with no network at all. `transport` replaces
    the HTTP transport (tests use `httpx.MockTransport`). `clock` (seconds since
    the epoch) and `random` are injectable for tests.
    """

    def __init__(
        self,
        url: str | None,
        token: str | None,
        environment: str,
        *,
        transport: httpx.BaseTransport | None = None,
        **settings: Unpack[ClientOptions],
    ) -> None:
        super().__init__(url, token, environment, **settings)
        options = self._options
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._send_lock = threading.Lock()
        self._stream_response: httpx.Response | None = None
        self._threads: list[threading.Thread] = []
        if options.api_url is None:
            return
        self._http = self._new_http(transport)
        self._stream_http = self._new_http(transport)
        if options.updates != "off":
            self._start(self._run_updates, "flagramp-updates")
        if options.send_events:
            self._start(self._run_sender, "flagramp-events")
        # A process that exits without close() still delivers what is queued
        # (daemon threads die at exit); a weak reference, so a closed client is
        # not kept alive by the hook.
        atexit.register(_close_at_exit, weakref.ref(self))

    # --- the public surface beyond evaluation -------------------------------------

    def wait_until_ready(self, timeout: float | None = None) -> bool:
        """Wait until flags from the server are served (at most `timeout`
        seconds); True if they are. A cache or bootstrap does not end the wait."""
        return self._from_server.wait(timeout)

    def flush(self, timeout: float | None = 10.0) -> bool:
        """Deliver the events recorded so far; True if none is left undelivered."""
        if self._options.api_url is None or not self._options.send_events:
            return True
        deadline = None if timeout is None else time.monotonic() + timeout
        self._send_pending(deadline)
        return self._outbox.pending == 0

    def close(self, timeout: float = 10.0) -> None:
        """Stop updating, deliver the queued events (at most `timeout` seconds),
        release the connections. Evaluation goes on working from the last flags."""
        if self._closed:
            return
        self._closed = True
        deadline = time.monotonic() + timeout
        self._stop.set()
        self._wake.set()
        self._interrupt_stream()
        if self._options.api_url is not None:
            self.flush(max(0.0, deadline - time.monotonic()))
        self._recording = False
        for thread in self._threads:
            thread.join(max(0.0, min(1.0, deadline - time.monotonic())))
        if self._options.api_url is not None:
            self._http.close()
            with contextlib.suppress(Exception):
                self._stream_http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # --- updates ------------------------------------------------------------------

    def _run_updates(self) -> None:
        state = UpdateState(self, self._backoff())
        while not self._stop.is_set():
            try:
                if state.mode == "stream":
                    self._stream_once(state)
                    delay = state.backoff.next_delay()
                else:
                    self._poll_once(state)
                    delay = state.poll_delay()
            except Exception as exc:
                if self._stop.is_set():
                    return
                delay = state.failed(exc)
            self._stop.wait(delay)

    def _stream_once(self, state: UpdateState) -> None:
        with self._stream_http.stream(
            "GET",
            "/stream",
            params=state.stream_params(),
            headers=state.stream_headers(),
            timeout=httpx.Timeout(self._options.timeout, read=STREAM_READ_TIMEOUT),
        ) as response:
            if response.status_code != 200:
                response.read()
            state.check_stream(response)
            self._stream_response = response
            try:
                for event in EventSource(response).iter_sse():
                    if self._stop.is_set():
                        return
                    if self._handle_stream_event(event.event, event.data, event.id):
                        state.received()
            finally:
                self._stream_response = None

    def _poll_once(self, state: UpdateState) -> None:
        response = self._http.get(state.snapshot_path(), headers=state.poll_headers())
        state.read_poll(response)
        state.received()

    def _interrupt_stream(self) -> None:
        # Rationale: closing a socket does not wake a thread blocked reading it on
        # Linux; shutting it down does, so close() need not wait for a keep-alive.
        response = self._stream_response
        if response is None:
            return
        stream = response.extensions.get("network_stream")
        sock = stream.get_extra_info("socket") if stream is not None else None
        if isinstance(sock, socket.socket):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(Exception):
            response.close()  # other transports end their body when it closes

    # --- events -------------------------------------------------------------------

    def _run_sender(self) -> None:
        backoff = self._backoff()
        delay = self._options.flush_interval
        while not self._stop.is_set():
            self._wake.wait(delay)
            self._wake.clear()
            if self._stop.is_set():
                return
            self._check_clock()
            if self._send_pending(None):
                backoff.reset()
                delay = self._options.flush_interval
            else:
                delay = backoff.next_delay()

    def _send_pending(self, deadline: float | None) -> bool:
        """Send batches until none is left, one fails, or `deadline` passes."""
        with self._send_lock:
            while deadline is None or time.monotonic() < deadline:
                batch = self._outbox.next_batch()
                if batch is None:
                    return True
                body, headers = self._outbox.body(batch)
                try:
                    response = self._http.post("/events", content=body, headers=headers)
                except httpx.HTTPError as exc:
                    self._outbox.settle(batch, None, exc)
                    return False
                except BaseException:
                    self._outbox.requeue(batch)
                    raise
                if not self._outbox.settle(batch, response, None):
                    return False
            return False

    def _wake_sender(self) -> None:
        self._wake.set()

    # --- plumbing -------------------------------------------------------------------

    def _new_http(self, transport: httpx.BaseTransport | None) -> httpx.Client:
        assert self._options.api_url is not None
        return httpx.Client(
            base_url=self._options.api_url,
            transport=transport,
            headers=base_headers(self._options.token),
            timeout=self._options.timeout,
        )

    def _backoff(self) -> Backoff:
        return Backoff(self._options.retry_base, self._options.retry_max, self._random)

    def _start(self, target: Callable[[], None], name: str) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        self._threads.append(thread)
        thread.start()


def _close_at_exit(ref: weakref.ref[Client]) -> None:
    client = ref()
    if client is not None:
        client.close(timeout=2.0)
