"""Keeping flags current: the SSE stream, resumption, backoff, polling with ETag."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from flagramp.core.flags import Flag, Percentage, Segment
from flagramp.sdk import Client, FlagsChanged
from flagramp.sdk._backoff import Backoff
from tests.sdk.fake_server import FakeServer, wait_for

FAST = {"retry_base": 0.01, "retry_max": 0.05}


@pytest.fixture
def server() -> Iterator[FakeServer]:
    server = FakeServer()
    server.set_flag(Flag(key="a", boolean=True))
    yield server
    server.close()


def connect(server: FakeServer, **options: Any) -> Client:
    client = Client(
        "http://flags.test",
        "t",
        "production",
        transport=server.transport(),
        send_events=False,
        **{**FAST, **options},
    )
    assert client.wait_until_ready(5)
    return client


def stream_requests(server: FakeServer) -> list[httpx.Request]:
    return [r for r in server.requests if r.url.path == "/api/v1/stream"]


def test_the_stream_delivers_a_snapshot_then_every_change_in_order(
    server: FakeServer,
) -> None:
    changes: list[FlagsChanged] = []
    client = connect(server)
    client.on_change(changes.append)
    try:
        server.set_flag(Flag(key="b", actors=("User;1",)))
        server.set_flag(Flag(key="a"))
        last = server.delete_flag("b")
        wait_for(lambda: client.version == last)
        assert client.flag_keys == ("a",)
        assert client.is_enabled("a", "User;1") is False
        assert [(c.version, c.keys) for c in changes] == [
            (3, ("b",)),
            (4, ("a",)),
            (5, ("b",)),
        ]
        request = stream_requests(server)[0]
        assert request.headers["authorization"] == "Bearer t"
        assert request.url.params["environment"] == "production"
        assert "last-event-id" not in request.headers
    finally:
        client.close(timeout=0.5)


def test_a_reconnect_resumes_from_the_last_version_without_a_gap(
    server: FakeServer,
) -> None:
    client = connect(server)
    try:
        for round_ in range(3):
            server.end_streams()  # the line drops ...
            server.set_flag(Flag(key=f"missed_{round_}", boolean=True))  # ... a change
            wait_for(lambda: client.version == server.version)
        assert set(client.flag_keys) == {"a", "missed_0", "missed_1", "missed_2"}
        ids = [r.headers.get("last-event-id") for r in stream_requests(server)]
        assert ids == [None, "2", "3", "4"]
    finally:
        client.close(timeout=0.5)


def test_server_errors_are_retried_with_backoff_until_the_stream_comes_back(
    server: FakeServer, caplog: pytest.LogCaptureFixture
) -> None:
    server.answers["stream"] = [503, 503, 500]
    with caplog.at_level(logging.WARNING, logger="flagramp.sdk"):
        client = connect(server)
    client.close(timeout=0.5)
    assert len(stream_requests(server)) == 4
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 2, warnings  # one when it failed, one when it came back
    assert "HTTP 503 forced: told to fail" in warnings[0]
    assert "flow again" in warnings[1]


def test_a_broken_event_reconnects_from_the_last_good_version(
    server: FakeServer,
) -> None:
    client = connect(server)
    try:
        stream = server.streams[0]
        stream.lines.put("event: change\nid: 9\ndata: {not json\n\n")
        wait_for(lambda: len(stream_requests(server)) == 2)
        assert stream_requests(server)[1].headers["last-event-id"] == "2"
        server.set_flag(Flag(key="b", boolean=True))
        wait_for(lambda: client.version == server.version)
        assert set(client.flag_keys) == {"a", "b"}
    finally:
        client.close(timeout=0.5)


@pytest.mark.parametrize("answer", ["404", "html"])
def test_a_server_without_the_stream_is_polled_with_etag(
    server: FakeServer, answer: str
) -> None:
    original = server.handle

    def no_stream(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/v1/stream":
            server.requests.append(request)
            if answer == "404":
                return httpx.Response(404, json={"code": "not_found"})
            return httpx.Response(
                200, text="<html>", headers={"content-type": "text/html"}
            )
        return original(request)

    server.handle = no_stream  # type: ignore[method-assign]
    client = connect(server, poll_interval=0.02)
    try:
        server.set_flag(Flag(key="b", boolean=True))
        wait_for(lambda: client.version == server.version)
        etag = f'"{server.version}"'

        def polls() -> list[str | None]:
            return [
                r.headers.get("if-none-match")
                for r in server.requests
                if r.url.path.endswith("/snapshot")
            ]

        wait_for(lambda: etag in polls())
        assert polls()[0] is None
        assert len(stream_requests(server)) == 1  # never tried again
    finally:
        client.close(timeout=0.5)


def test_polling_mode_costs_a_body_only_when_the_version_changed(
    server: FakeServer,
) -> None:
    answers: list[int] = []
    original = server.handle

    def counted(request: httpx.Request) -> httpx.Response:
        response = original(request)
        answers.append(response.status_code)
        return response

    server.handle = counted  # type: ignore[method-assign]
    client = connect(server, updates="poll", poll_interval=0.01)
    try:
        wait_for(lambda: answers.count(304) >= 3)
        server.set_flag(Flag(key="b", boolean=True))
        wait_for(lambda: client.version == server.version)
        assert answers[0] == 200 and 200 in answers[answers.index(304) :]
        assert not stream_requests(server)
    finally:
        client.close(timeout=0.5)


def test_a_segment_change_recompiles_the_flags_that_read_it(server: FakeServer) -> None:
    server.set_segment(Segment.from_rules("oracle", ["ehr == oracle"]))
    server.set_flag(Flag(key="elig", boolean=True, eligibility="oracle"))
    server.set_flag(Flag(key="grouped", groups=("oracle",)))
    changes: list[FlagsChanged] = []
    client = connect(server)
    client.on_change(changes.append)
    try:
        vista = {"ehr": "vista"}
        assert not client.is_enabled("elig", "User;1", vista)
        server.set_segment(Segment.from_rules("oracle", ["ehr in [oracle, vista]"]))
        wait_for(lambda: client.version == server.version)
        assert client.is_enabled("elig", "User;1", vista)
        assert client.is_enabled("grouped", "User;1", vista)
        assert client.is_enabled("a")
        assert sorted(changes[-1].keys) == ["elig", "grouped"]
    finally:
        client.close(timeout=0.5)


def test_an_unreadable_flag_keeps_its_last_good_version(
    server: FakeServer, caplog: pytest.LogCaptureFixture
) -> None:
    client = connect(server)
    try:
        with caplog.at_level(logging.WARNING, logger="flagramp.sdk"):
            stream = server.streams[0]
            bad = {"key": "a", "gates": {"percentage_of_actors": "250"}}
            change = {
                "version": 7,
                "changes": [
                    {"kind": "flag", "key": "a", "action": "update", "after": bad}
                ],
            }
            stream.lines.put(f"event: change\nid: 7\ndata: {json.dumps(change)}\n\n")
            wait_for(lambda: client.version == 7)
        assert client.is_enabled("a") is True
        assert any(
            "'a'" in r.getMessage() and "250" in r.getMessage() for r in caplog.records
        )
    finally:
        client.close(timeout=0.5)


def test_a_snapshot_of_another_environment_is_refused(server: FakeServer) -> None:
    client = connect(server)
    try:
        stream = server.streams[0]
        other = dict(server.snapshot(), environment="staging", version=50, flags=[])
        stream.lines.put(f"event: snapshot\nid: 50\ndata: {json.dumps(other)}\n\n")
        wait_for(lambda: len(stream_requests(server)) == 2)  # it reconnected
        assert client.flag_keys == ("a",) and client.version == 2
    finally:
        client.close(timeout=0.5)


def test_percentages_change_who_is_enabled_as_the_stream_says(
    server: FakeServer,
) -> None:
    client = connect(server)
    actors = [f"User;{i}" for i in range(2000)]
    try:
        shares = []
        for pct in ("5", "25", "50", "100"):
            server.set_flag(Flag(key="a", percentage_of_actors=Percentage.parse(pct)))
            wait_for(lambda: client.version == server.version)
            shares.append(sum(client.is_enabled("a", a) for a in actors))
        assert shares[0] < shares[1] < shares[2] < shares[3] == 2000
    finally:
        client.close(timeout=0.5)


@pytest.mark.parametrize(
    ("attempt", "low", "high"),
    [
        (0, 0.25, 0.5),
        (1, 0.5, 1.0),
        (2, 1.0, 2.0),
        (5, 8.0, 16.0),
        (6, 15.0, 30.0),
        (40, 15.0, 30.0),
    ],
)
def test_backoff_doubles_up_to_its_cap_with_jitter_in_the_upper_half(
    attempt: int, low: float, high: float
) -> None:
    for dice in (0.0, 0.5, 0.999):
        backoff = Backoff(0.5, 30.0, lambda d=dice: d)  # type: ignore[misc]
        for _ in range(attempt):
            backoff.next_delay()
        delay = backoff.next_delay()
        assert low <= delay <= high
        assert delay == pytest.approx(low + dice * (high - low))
    backoff.reset()
    assert backoff.next_delay() <= 0.5
