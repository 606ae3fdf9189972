"""The guard stream attacked: a forged `Last-Event-ID` (bytes that Python
calls digits but `int` refuses, negative, huge, another stream's kind of id)
gets the series or a 4xx, never a 5xx; the stream ages its session by the
session clock, as every page does (not by the run's virtual clock), and
ends when its token is revoked; one token
holds a bounded number of streams open (each polls the store), and a
stream's place comes back when it ends."""

from __future__ import annotations

import datetime as dt
import socket
import time
from collections.abc import Iterator
from dataclasses import replace
from urllib.parse import urlsplit

import httpx
import pytest

from flagramp.core.clock import VirtualClock
from flagramp.server.dashboard.stream_slots import STREAMS_PER_TOKEN
from flagramp.store import Author
from flagramp.store.tokens import TokenStore
from tests.server.dashboard.conftest import Dashboard, csrf_of
from tests.server.dashboard.fake_runs import RUN
from tests.server.live_server import serving
from tests.server.sse_client import SseReader

STREAM = f"/dashboard/runs/{RUN}/guards/stream"


@pytest.fixture
def live(dashboard: Dashboard) -> Iterator[str]:
    state = dashboard.app.state.flagramp
    state.settings = replace(
        state.settings, stream_poll_seconds=0.05, keepalive_seconds=0.2
    )
    with serving(dashboard.app) as url:
        yield url


def _cookie(url: str, token: str) -> str:
    with httpx.Client(base_url=url) as client:
        nonce = csrf_of(client.get("/dashboard/login"))
        client.post("/dashboard/login", data={"csrf_token": nonce, "token": token})
        return "; ".join(f"{k}={v}" for k, v in client.cookies.items())


def _first_bytes(url: str, path: str, headers: dict[str, bytes]) -> bytes:
    """The status line and what follows of a raw request (header values sent
    as the bytes given: httpx would refuse what a hostile client sends)."""
    parts = urlsplit(url)
    lines = [f"GET {path} HTTP/1.1".encode(), f"Host: {parts.netloc}".encode()]
    lines += [name.encode() + b": " + value for name, value in headers.items()]
    with socket.create_connection((parts.hostname, parts.port), timeout=5) as sock:
        sock.sendall(b"\r\n".join(lines) + b"\r\n\r\n")
        got = b""
        while b"event: guards" not in got and b"\r\n\r\n{" not in got:
            chunk = sock.recv(65536)
            if not chunk:
                break
            got += chunk
        return got


#: Latin-1 superscripts (str.isdigit() says yes, int() no), negative, past a
#: BIGINT, the flag stream's epoch form with a bad epoch, UTF-8 Arabic-Indic.
FORGED = [b"\xb2", b"1\xb9", b"-1", b"999999999.zzz", b"9" * 19, b"\xd9\xa3"]


def test_a_forged_last_event_id_gets_the_series(
    dashboard: Dashboard, live: str
) -> None:
    cookie = _cookie(live, dashboard.tokens["viewer"]).encode()
    for forged in FORGED:
        got = _first_bytes(live, STREAM, {"Cookie": cookie, "Last-Event-ID": forged})
        assert got.startswith(b"HTTP/1.1 200"), (forged, got[:200])
        assert b"event: guards" in got, forged


def _status(url: str, headers: dict[str, str], method: str = "GET") -> int:
    with httpx.Client() as client:
        if method == "HEAD":
            return client.head(url, headers=headers).status_code
        with client.stream(method, url, headers=headers) as answer:
            return answer.status_code


def test_one_token_holds_a_bounded_number_of_streams(
    dashboard: Dashboard, live: str
) -> None:
    headers = {"cookie": _cookie(live, dashboard.tokens["viewer"])}
    url = f"{live}{STREAM}"
    assert _status(url, headers, "HEAD") == 405  # no stream that never streams
    readers = [SseReader(url, headers) for _ in range(STREAMS_PER_TOKEN)]
    try:
        assert [r.status for r in readers] == [200] * STREAMS_PER_TOKEN
        assert _status(url, headers) == 429
        other = {"cookie": _cookie(live, dashboard.tokens["admin"])}
        assert _status(url, other) == 200  # another token's places are its own
        readers.pop().close()
        deadline = time.monotonic() + 5
        while _status(url, headers) == 429:  # the server sees the close at a poll
            assert time.monotonic() < deadline, "the closed stream's place stayed"
            time.sleep(0.05)
    finally:
        for reader in readers:
            reader.close()


def test_the_stream_ages_the_session_by_the_session_clock(
    dashboard: Dashboard, live: str
) -> None:
    state = dashboard.app.state.flagramp
    state.session_clock = VirtualClock(dashboard.clock.now())
    headers = {"cookie": _cookie(live, dashboard.tokens["viewer"])}
    dashboard.clock.advance(dt.timedelta(days=7))  # `demo --serve`: a week on
    reader = SseReader(f"{live}{STREAM}", headers)
    try:
        assert reader.next().event == "guards"
        # Still open a few polls later: keep-alives come (the run's clock
        # said the session had expired, and the stream ended at the first poll).
        assert reader.next(timeout=2, skip_comments=False).event == "comment"
        state.session_clock.advance(dt.timedelta(days=1))  # now it has expired
        with pytest.raises((TimeoutError, httpx.HTTPError)):
            for _ in range(20):
                reader.next(timeout=0.5, skip_comments=False)
    finally:
        reader.close()


def test_revoking_the_token_ends_its_open_stream(
    dashboard: Dashboard, live: str
) -> None:
    token = dashboard.tokens["viewer"]
    reader = SseReader(f"{live}{STREAM}", {"cookie": _cookie(live, token)})
    try:
        assert reader.next().event == "guards"
        assert reader.next(timeout=2, skip_comments=False).event == "comment"
        TokenStore(dashboard.store).revoke(token.split("_")[1], Author("admin"))
        with pytest.raises((TimeoutError, httpx.HTTPError)):
            for _ in range(20):
                reader.next(timeout=0.5, skip_comments=False)
    finally:
        reader.close()
