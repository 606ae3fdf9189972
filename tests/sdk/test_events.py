"""Events on their way: batches, keys, retries, bounds, and what the server reads."""

from __future__ import annotations

import gzip
import json
import logging
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from flagramp.core.event_parsing import parse_batch
from flagramp.core.flags import Flag
from flagramp.sdk import Client
from tests.sdk.fake_server import FakeServer, wait_for
from tests.sdk.helpers import FakeClock, serving, snapshot_of

FLAGS = [Flag(key="a", boolean=True), Flag(key="b", actors=("User;1",))]


@pytest.fixture
def server() -> Iterator[FakeServer]:
    server = FakeServer()
    yield server
    server.close()


def client_for(server: FakeServer, **options: Any) -> Client:
    settings: dict[str, Any] = {
        "bootstrap": snapshot_of(FLAGS),
        "updates": "off",
        "flush_interval": 3600,
        "retry_base": 0.01,
        "retry_max": 0.02,
        **options,
    }
    return Client(
        "http://flags.test", "t", "production", transport=server.transport(), **settings
    )


def posted(server: FakeServer) -> list[dict[str, Any]]:
    """Every events body the client sent, failed attempts included."""
    bodies = []
    for request in server.requests:
        if request.url.path == "/api/v1/events":
            raw = request.content
            if request.headers.get("content-encoding") == "gzip":
                raw = gzip.decompress(raw)
            bodies.append(json.loads(raw))
    return bodies


def test_every_kind_of_event_sent_parses_on_the_server_without_a_rejection(
    server: FakeServer,
) -> None:
    with client_for(server) as client:
        for i in range(50):
            client.is_enabled("a", f"User;{i}")
            client.is_enabled("b", f"User;{i}")
        client.track("csat_response", "User;1", value=4, attributes={"flow": "new"})
        client.track("message_sent", "User;2")
        assert client.flush()
        assert client._outbox.counts.rejected == 0
    events = server.events()
    assert len(events) == 102
    parsed = parse_batch(events)
    assert parsed.rejected == () and parsed.accepted == 102
    assert {e["environment"] for e in events if e["type"] == "exposure"} == {
        "production"
    }
    body = server.batches[0]
    assert body["environment"] == "production"
    assert body["batch_key"].startswith("sdk-")


def test_a_full_batch_is_sent_without_waiting_for_the_interval(
    server: FakeServer,
) -> None:
    with client_for(server, batch_size=10) as client:
        for i in range(25):
            client.is_enabled("a", f"User;{i}")
        wait_for(lambda: len(server.events()) >= 20)
        assert [len(b["events"]) for b in server.batches[:2]] == [10, 10]
    assert len(server.events()) == 25  # close() delivered the rest


def test_events_are_sent_every_flush_interval(server: FakeServer) -> None:
    with client_for(server, flush_interval=0.02) as client:
        client.is_enabled("a", "User;1")
        wait_for(lambda: len(server.events()) == 1)
        client.is_enabled("a", "User;2")
        wait_for(lambda: len(server.events()) == 2)
        assert len(server.batches) == 2


def test_a_failed_batch_is_sent_again_under_the_same_key(server: FakeServer) -> None:
    server.answers["events"] = [503, 429]
    with client_for(server, flush_interval=0.01) as client:
        client.is_enabled("a", "User;1")
        wait_for(lambda: len(server.batches) == 1)
        keys = [body["batch_key"] for body in posted(server)]
        assert len(keys) == 3 and len(set(keys)) == 1
        client.is_enabled("a", "User;2")
        assert client.flush()
    assert len({body["batch_key"] for body in posted(server)}) == 2


def test_a_batch_sent_twice_counts_once(server: FakeServer) -> None:
    # The first answer is lost on the way back: the client retries, the server
    # recognises the key and counts nothing more.
    original = server.handle
    lost = [True]

    def lose_first_answer(request: httpx.Request) -> httpx.Response:
        response = original(request)
        if request.url.path == "/api/v1/events" and lost.pop() if lost else False:
            raise httpx.ReadError("connection reset", request=request)
        return response

    server.handle = lose_first_answer  # type: ignore[method-assign]
    with client_for(server, flush_interval=0.01) as client:
        for i in range(5):
            client.is_enabled("a", f"User;{i}")
        wait_for(lambda: len(posted(server)) == 2)
        assert client.flush()
    assert len(server.events()) == 5
    assert client._outbox.counts.sent == 5


def test_a_batch_too_large_is_split_under_new_keys(server: FakeServer) -> None:
    server.answers["events"] = [413]
    with client_for(server, batch_size=8) as client:
        for i in range(8):
            client.is_enabled("a", f"User;{i}")
        assert client.flush()
    bodies = posted(server)
    assert [len(b["events"]) for b in bodies] == [8, 4, 4]
    assert len({b["batch_key"] for b in bodies}) == 3
    assert sorted(e["actor"] for e in server.events()) == sorted(
        f"User;{i}" for i in range(8)
    )


def test_a_refused_batch_is_dropped_with_a_log_line_and_the_rest_goes_on(
    server: FakeServer, caplog: pytest.LogCaptureFixture
) -> None:
    server.answers["events"] = [422]
    with (
        caplog.at_level(logging.WARNING, logger="flagramp.sdk"),
        client_for(server, batch_size=2) as client,
    ):
        for i in range(4):
            client.is_enabled("a", f"User;{i}")
        assert client.flush()
        assert client._outbox.counts.dropped == 2
    assert [e["actor"] for e in server.events()] == ["User;2", "User;3"]
    assert any(
        "dropped 2 events" in r.getMessage() and "422" in r.getMessage()
        for r in caplog.records
    )


def test_events_the_server_refuses_are_logged_with_its_reason(
    server: FakeServer, caplog: pytest.LogCaptureFixture
) -> None:
    with (
        caplog.at_level(logging.WARNING, logger="flagramp.sdk"),
        client_for(server) as client,
    ):
        client.track("not a name!", "User;1")
        client.track("fine_name", "User;1")
        assert client.flush()
        assert client._outbox.counts.rejected_codes == {"bad_name": 1}
    assert any("refused 1 of 2 events" in r.getMessage() for r in caplog.records)


def test_an_unreachable_server_keeps_the_events_until_it_is_back(
    server: FakeServer,
) -> None:
    server.down = True
    with client_for(server, flush_interval=0.01) as client:
        for i in range(30):
            client.is_enabled("a", f"User;{i}")
        wait_for(lambda: len(server.requests) >= 3)
        assert client.pending_events == 30
        server.down = False
        wait_for(lambda: len(server.events()) == 30)
        assert client.pending_events == 0


def test_the_queue_is_bounded_and_counts_what_it_dropped(server: FakeServer) -> None:
    server.down = True
    with client_for(server, max_queue=10) as client:
        for i in range(25):
            client.is_enabled("a", f"User;{i}")
        assert client.pending_events == 10
        assert client._outbox.counts.dropped == 15
        server.down = False
        assert client.flush()
    assert len(server.events()) == 10


def test_batches_older_than_the_server_accepts_are_dropped(
    server: FakeServer, caplog: pytest.LogCaptureFixture
) -> None:
    clock = FakeClock()
    server.down = True
    with (
        caplog.at_level(logging.WARNING, logger="flagramp.sdk"),
        client_for(server, clock=clock) as client,
    ):
        client.is_enabled("a", "User;1")
        assert not client.flush()
        clock.advance(56 * 60)
        client.is_enabled("a", "User;2")
        server.down = False
        assert client.flush()
    assert [e["actor"] for e in server.events()] == ["User;2"]
    assert any(
        "older than the server accepts" in r.getMessage() for r in caplog.records
    )


def test_large_bodies_are_gzipped_and_small_ones_are_not(server: FakeServer) -> None:
    with client_for(server) as client:
        client.is_enabled("a", "User;1")
        assert client.flush()
        for i in range(100):
            client.is_enabled("a", f"User;{i + 10}")
        assert client.flush()
    encodings = [
        r.headers.get("content-encoding")
        for r in server.requests
        if r.url.path == "/api/v1/events"
    ]
    assert encodings == [None, "gzip"]


def test_close_delivers_what_is_queued_and_records_nothing_after(
    server: FakeServer,
) -> None:
    client = client_for(server)
    for i in range(7):
        client.is_enabled("a", f"User;{i}")
    client.close()
    client.is_enabled("a", "User;99")
    client.track("late", "User;99")
    assert len(server.events()) == 7
    assert client.pending_events == 0


def test_no_events_are_recorded_when_sending_is_off(server: FakeServer) -> None:
    with client_for(server, send_events=False) as client:
        client.is_enabled("a", "User;1")
        client.track("x", "User;1")
        assert client.pending_events == 0 and client.flush()
    assert not posted(server)


def test_a_process_that_exits_without_close_still_delivers_its_events(
    tmp_path: Path,
) -> None:
    received: list[dict[str, Any]] = []

    async def events(request: Request) -> JSONResponse:
        body = await request.body()
        if request.headers.get("content-encoding") == "gzip":
            body = gzip.decompress(body)
        received.extend(json.loads(body)["events"])
        return JSONResponse({"accepted": 3, "duplicate": False, "rejected": []})

    app = Starlette(routes=[Route("/api/v1/events", events, methods=["POST"])])
    boot = tmp_path / "boot.json"
    boot.write_text(json.dumps(snapshot_of(FLAGS)))
    script = (
        "import sys; from flagramp.sdk import Client\n"
        "c = Client(sys.argv[1], 't', 'production', bootstrap=sys.argv[2],\n"
        "           updates='off', flush_interval=3600)\n"
        "for i in range(3): c.is_enabled('a', f'User;{i}')\n"
    )
    with serving(app) as base:
        done = subprocess.run(
            [sys.executable, "-c", script, base, str(boot)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert done.returncode == 0, done.stderr
    assert sorted(e["actor"] for e in received) == ["User;0", "User;1", "User;2"]
