"""A guard stream whose browser stopped reading gives its slot back once one
send to it waits past `stream_send_timeout_seconds`; the token's other streams
go on and get the newest series."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from dataclasses import replace

import httpx

from flagramp.core.types import Json
from flagramp.server.dashboard.stream_slots import STREAMS_PER_TOKEN
from tests.server.dashboard.conftest import Dashboard, csrf_of
from tests.server.dashboard.fake_runs import CHECK, RUN, Event
from tests.server.live_server import serving, stalled_get
from tests.server.sse_client import SseReader

STREAM = f"/dashboard/runs/{RUN}/guards/stream"
#: Criteria per evaluation, with names this long: one series fills the
#: buffers (2 KiB to receive, 8 KiB to send, uvicorn's 64 KiB).
CRITERIA = 30
NAME = 4_000


def _wait_for(condition: Callable[[], bool], what: str, seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not in {seconds} s: {what}")
        time.sleep(0.05)


def _cookie(url: str, token: str) -> str:
    with httpx.Client(base_url=url) as client:
        nonce = csrf_of(client.get("/dashboard/login"))
        client.post("/dashboard/login", data={"csrf_token": nonce, "token": token})
        return "; ".join(f"{k}={v}" for k, v in client.cookies.items())


def _status(url: str, headers: dict[str, str]) -> int:
    with httpx.Client() as client, client.stream("GET", url, headers=headers) as got:
        return got.status_code


def _evaluated(dashboard: Dashboard, minute: int) -> int:
    """The run's log grows by an evaluation of many long-named criteria;
    answers the new entry's seq."""
    events = dashboard.runs.events[RUN]
    checks: list[Json] = [
        {**CHECK, "criterion": f"{n:02d}" + "c" * NAME} for n in range(CRITERIA)
    ]
    evaluation: dict[str, Json] = {"minute": minute, "checks": checks}
    seq = len(events) + 1
    events.append(
        Event(
            seq,
            "2026-03-02T10:05:00+00:00",
            "rolled_back",
            None,
            {"evaluation": evaluation},
        )
    )
    return seq


def test_a_stream_never_read_gives_its_slot_back(dashboard: Dashboard) -> None:
    state = dashboard.app.state.flagramp
    state.settings = replace(
        state.settings,
        stream_poll_seconds=0.05,
        keepalive_seconds=0.2,
        stream_send_timeout_seconds=0.5,
    )
    with serving(dashboard.app, send_buffer=4096) as live:
        url = f"{live}{STREAM}"
        cookie = _cookie(live, dashboard.tokens["viewer"])
        stalled = stalled_get(live, STREAM, f"Cookie: {cookie}\r\n")
        stalled.settimeout(10)
        # Its answer has begun (peeked, not read): its slot is taken.
        assert stalled.recv(12, socket.MSG_PEEK) == b"HTTP/1.1 200"
        headers = {"cookie": cookie}
        readers = [SseReader(url, headers) for _ in range(STREAMS_PER_TOKEN - 1)]
        try:
            assert [r.status for r in readers] == [200] * (STREAMS_PER_TOKEN - 1)
            assert _status(url, headers) == 429  # the stalled stream holds one
            for reader in readers:
                reader.next()
            seq = 0
            for minute in range(29_500_005, 29_500_008):
                seq = _evaluated(dashboard, minute)
                time.sleep(0.2)  # a poll sees each
            registry = state.metrics.registry
            _wait_for(
                lambda: (
                    registry.get_sample_value(
                        "flagramp_stream_send_timeouts_total", {"stream": "guards"}
                    )
                    == 1
                ),
                "the stalled stream ended",
            )
            assert _status(url, headers) == 200  # its slot is back
            latest = readers[0].next()
            while latest.id != str(seq):
                latest = readers[0].next()
            names = sorted(latest.json()["criteria"])
        finally:
            for reader in readers:
                reader.close()
            stalled.close()
    assert len(names) == CRITERIA + 1
    assert names[0].startswith("00c") and names[-1] == "api error rate"
