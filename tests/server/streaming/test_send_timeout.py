"""A stream client that stops reading loses its stream once one send to it
waits past `stream_send_timeout_seconds`; the others go on, missing nothing."""

from __future__ import annotations

import dataclasses
import logging
import socket
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import pytest
from fastapi import FastAPI

from flagramp.core.errors import FlagrampError
from flagramp.core.flags import Flag
from flagramp.server.app import create_app
from flagramp.server.settings import ServerSettings
from flagramp.server.state import ServerState
from flagramp.server.uvicorn_protocol import AbortingHttpProtocol
from tests.server.conftest import SETUP, Api
from tests.server.live_server import serving, stalled_get
from tests.server.sse_client import SseReader

#: Each change carries the flag with a description this long: a few fill the
#: buffers (the client's 2 KiB receive buffer, the server's 8 KiB send buffer,
#: uvicorn's 64 KiB before it stops writing).
DESCRIPTION = 9_000
CHANGES = 30


def _wait_for(condition: Callable[[], bool], what: str, seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not in {seconds} s: {what}")
        time.sleep(0.02)


def _describe(n: int) -> Callable[[Flag], Flag]:
    text = f"{n:04d}" + "x" * (DESCRIPTION - 4)
    return lambda flag: dataclasses.replace(flag, description=text)


def _app_with_a_big_flag(api: Api) -> tuple[FastAPI, ServerState]:
    """The app, with streams that give up a send after 0.5 s, and a flag whose
    changes fill the buffers."""
    api.store.create_flag(Flag(key="big"), SETUP)
    settings = ServerSettings(
        stream_poll_seconds=0.05, keepalive_seconds=0.2, stream_send_timeout_seconds=0.5
    )
    app = create_app(settings, store=api.store)
    state = app.state.flagramp
    assert isinstance(state, ServerState)
    return app, state


def _wait_for_the_drop(state: ServerState) -> None:
    """Until the stalled client's flag stream is ended (counted once its
    generator is closed)."""
    registry = state.metrics.registry
    _wait_for(
        lambda: (
            registry.get_sample_value(
                "flagramp_stream_send_timeouts_total", {"stream": "flags"}
            )
            == 1
        ),
        "the stalled stream ended",
    )


def _stalled_client(url: str, auth: str) -> socket.socket:
    """A flag stream's client that will never read."""
    headers = f"Authorization: {auth}\r\nAccept: text/event-stream\r\n"
    return stalled_get(url, "/api/v1/stream", headers)


def test_a_client_that_never_reads_is_dropped_and_a_reader_gets_every_change(
    api: Api,
) -> None:
    store = api.store
    app, state = _app_with_a_big_flag(api)
    with serving(app, send_buffer=4096) as url:
        stalled = _stalled_client(url, api.headers("sdk")["authorization"])
        _wait_for(lambda: state.hub.clients() == 1, "the stalled client subscribed")
        reader = SseReader(f"{url}/api/v1/stream", api.headers("sdk"))
        try:
            assert reader.next().event == "snapshot"
            _wait_for(lambda: state.hub.clients() == 2, "the reader subscribed")
            first = store.version() + 1
            for n in range(CHANGES):
                store.change_flag("big", _describe(n), SETUP)
            # The stalled client's stream is ended (counted once its generator
            # is closed): its subscriber (and queue) is gone, the gauge says so.
            _wait_for_the_drop(state)
            registry = state.metrics.registry
            assert state.hub.clients() == 1
            assert (
                registry.get_sample_value(
                    "flagramp_stream_clients", {"environment": "production"}
                )
                == 1
            )
            # Changes after the drop still reach the reader.
            for n in range(CHANGES, CHANGES + 3):
                store.change_flag("big", _describe(n), SETUP)
            got: list[Any] = []
            while len(got) < CHANGES + 3:
                event = reader.next()
                assert event.event == "change"
                got.append(event.json())
        finally:
            reader.close()
        # The connection is closed once what was buffered has been read.
        stalled.settimeout(10)
        received = b""
        while chunk := stalled.recv(65536):
            received += chunk
        stalled.close()
    assert [g["version"] for g in got] == list(range(first, first + CHANGES + 3))
    descriptions = [g["changes"][0]["after"]["description"][:4] for g in got]
    assert descriptions == [f"{n:04d}" for n in range(CHANGES + 3)]
    assert received.startswith(b"HTTP/1.1 200")
    # It got the snapshot and some changes, never the ones after the drop.
    assert b"event: snapshot" in received
    assert f"{CHANGES + 2:04d}xx".encode() not in received


def test_the_send_timeout_comes_from_the_environment() -> None:
    assert ServerSettings.from_env({}).stream_send_timeout_seconds == 30.0
    given = {"FLAGRAMP_STREAM_SEND_TIMEOUT": " 2.5 "}
    assert ServerSettings.from_env(given).stream_send_timeout_seconds == 2.5
    for wrong in ("0", "-1", "soon", "inf", "nan"):
        with pytest.raises(FlagrampError, match="FLAGRAMP_STREAM_SEND_TIMEOUT must"):
            ServerSettings.from_env({"FLAGRAMP_STREAM_SEND_TIMEOUT": wrong})


class QuickAbort(AbortingHttpProtocol):
    close_grace_seconds = 0.5


class ResetIn2s(AbortingHttpProtocol):
    #: Long enough for the test to see the connection still open after the
    #: drop on a busy machine, short enough to wait for.
    close_grace_seconds = 2.0


def _tcp_state(sock: socket.socket) -> int:
    """The kernel's TCP state of `sock` (`tcpi_state`, TCP_INFO's first byte)."""
    return sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 1)[0]


TCP_ESTABLISHED, TCP_CLOSE = 1, 7


def test_the_dropped_clients_connection_is_reset_after_the_grace(api: Api) -> None:
    store = api.store
    app, state = _app_with_a_big_flag(api)
    with serving(app, send_buffer=4096, http=ResetIn2s) as url:
        where = urlsplit(url)
        auth = api.headers("sdk")["authorization"]
        # A client that reads its whole answer: closed in time, not reset.
        polite = socket.create_connection((where.hostname, where.port))
        polite.sendall(
            f"GET /api/v1/flags HTTP/1.1\r\nHost: {where.netloc}\r\n"
            f"Authorization: {auth}\r\nConnection: close\r\n\r\n".encode()
        )
        polite.settimeout(10)
        answer = b""
        while chunk := polite.recv(65536):
            answer += chunk
        assert answer.startswith(b"HTTP/1.1 200")
        stalled = _stalled_client(url, auth)
        _wait_for(lambda: state.hub.clients() == 1, "the stalled client subscribed")
        try:
            for n in range(CHANGES):
                store.change_flag("big", _describe(n), SETUP)
            _wait_for_the_drop(state)
            # Closed, but the client took nothing: the server still holds it...
            assert _tcp_state(stalled) == TCP_ESTABLISHED
            # ...until the grace is over, when the server resets it.
            _wait_for(
                lambda: _tcp_state(stalled) == TCP_CLOSE, "the connection was reset"
            )
        finally:
            stalled.close()
            polite.close()


class QuickCap(QuickAbort):
    close_max_seconds = 1.5


def _read_slowly(
    api: Api, protocol: type[AbortingHttpProtocol], pause: float
) -> tuple[bytes, float]:
    """A long answer (40 flags of 9 KB, 370 KB) read at most 2 KiB every
    `pause` seconds over a small window, after a `Connection: close`: what
    arrived and how long it took."""
    for n in range(40):
        api.store.create_flag(
            Flag(key=f"long_{n}", description=f"{n:04d}" + "y" * 9_000), SETUP
        )
    app = create_app(ServerSettings(), store=api.store)
    with serving(app, send_buffer=4096, http=protocol) as url:
        where = urlsplit(url)
        client = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)
        client.connect((where.hostname, where.port))
        auth = api.headers("sdk")["authorization"]
        client.sendall(
            f"GET /api/v1/flags HTTP/1.1\r\nHost: {where.netloc}\r\n"
            f"Authorization: {auth}\r\nConnection: close\r\n\r\n".encode()
        )
        client.settimeout(10)
        began, answer = time.monotonic(), b""
        try:
            while chunk := client.recv(2048):
                answer += chunk
                time.sleep(pause)
        except ConnectionResetError:
            pass
        finally:
            client.close()
    return answer, time.monotonic() - began


def test_a_slow_client_still_reading_a_long_answer_gets_all_of_it(api: Api) -> None:
    answer, took = _read_slowly(api, QuickAbort, pause=0.01)
    assert took > 2 * QuickAbort.close_grace_seconds  # outlived graces: re-armed
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200")
    assert body.count(b"yyyy" * 2_250) == 40  # every flag, whole


def test_a_trickle_is_reset_once_the_closes_time_is_up(api: Api) -> None:
    # At most 41 KB/s: the whole answer would take 9 s.
    answer, took = _read_slowly(api, QuickCap, pause=0.05)
    # Reset about 1.5 s after the close, long before the answer was read.
    assert QuickCap.close_max_seconds <= took < 4 * QuickCap.close_max_seconds
    assert answer.startswith(b"HTTP/1.1 200")
    assert answer.count(b"yyyy" * 2_250) < 40


def test_an_upgraded_connection_closed_leaves_no_error_behind(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(ServerSettings(), store=api.store)
    with serving(app, http=QuickAbort) as url:
        where = urlsplit(url)
        client = socket.create_connection((where.hostname, where.port))
        client.sendall(
            f"GET /flipper/api/features HTTP/1.1\r\nHost: {where.netloc}\r\n"
            "Upgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n".encode()
        )
        client.settimeout(10)
        answer = client.recv(65536)
        client.close()
        time.sleep(3 * QuickAbort.close_grace_seconds)  # past the watch's grace
    assert answer.startswith(b"HTTP/1.1 ")
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == [], [r.getMessage() for r in errors]
