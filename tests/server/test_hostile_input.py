"""Hostile input on /api/v1: each is refused or bounded quickly, answers a clear
problem, and writes nothing half-way.

Oversized bodies (announced, chunked, and gzip bombs), JSON nested past the
limit, lone surrogates and bytes that are not UTF-8 in keys and actor ids, a
flag with 10,000 actors, and a flood of distinct error fingerprints.
"""

from __future__ import annotations

import gzip
import json
import time
import tracemalloc
from collections.abc import AsyncIterator, Callable
from functools import partial
from typing import Any

import pytest

from flagramp.core.flags import Flag
from flagramp.core.metric_kinds import MetricKind
from flagramp.server.app import create_app
from flagramp.server.event_sinks import ScopeSink
from flagramp.server.settings import ServerSettings
from flagramp.stats.batch_ingest import BatchIngest, MetricSpec
from flagramp.stats.windows import OTHER_FINGERPRINTS
from tests.server.conftest import SETUP, Api, InProcess

AT = "2026-01-01T00:00:00Z"  # the test clock's time
LIMIT = 256 * 1024  # a small body limit, so that "too large" stays cheap to send
JSON = {"content-type": "application/json"}


def measured(call: Callable[[], Any]) -> tuple[Any, float, int]:
    """What `call` returned, the seconds it took and its tracemalloc peak."""
    tracemalloc.start()
    started = time.perf_counter()
    try:
        result = call()
        return result, time.perf_counter() - started, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.fixture
def small(api: Api) -> InProcess:
    """The app with a 256 KiB body limit."""
    settings = ServerSettings(max_body_bytes=LIMIT)
    return InProcess(create_app(settings, store=api.store, clock=api.clock))


async def _chunks(total: int, size: int = 64 * 1024) -> AsyncIterator[bytes]:
    sent = 0
    while sent < total:
        yield b" " * min(size, total - sent)
        sent += size


@pytest.mark.parametrize(
    ("path", "method"),
    [
        ("/api/v1/flags", "POST"),
        ("/api/v1/flags/f/actors", "POST"),
        ("/api/v1/segments/s", "PUT"),
        ("/api/v1/events", "POST"),
        ("/api/v1/plans", "POST"),
        ("/api/v1/alerts/datadog", "POST"),
    ],
)
@pytest.mark.parametrize("framing", ["content-length", "chunked", "gzip"])
def test_a_body_over_the_limit_is_413_and_writes_nothing(
    api: Api, small: InProcess, path: str, method: str, framing: str
) -> None:
    before = api.store.version()
    headers = {**api.headers("admin"), **JSON}
    content: bytes | AsyncIterator[bytes]
    if framing == "content-length":
        content = b" " * (4 * LIMIT)
    elif framing == "chunked":
        content = _chunks(4 * LIMIT)
    else:
        # 64 MiB of spaces in 64 KiB of gzip: inflated only up to the limit.
        content = gzip.compress(b" " * (64 * 1024 * 1024), compresslevel=9)
        headers["content-encoding"] = "gzip"
    answer, seconds, peak = measured(
        lambda: small.request(method, path, content=content, headers=headers)
    )
    assert answer.status_code == 413, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["code"] == "body_too_large"
    assert seconds < 5
    assert peak < 16 * LIMIT  # never the whole (inflated) body
    assert api.store.version() == before


@pytest.mark.parametrize("opener", [b"[", b'{"a":'])
@pytest.mark.parametrize(
    "path", ["/api/v1/flags", "/api/v1/events", "/api/v1/plans/validate"]
)
def test_json_nested_far_past_the_limit_is_422_quickly(
    api: Api, opener: bytes, path: str
) -> None:
    body = opener * 200_000  # unclosed too: the depth is refused before the end
    answer, seconds, _ = measured(
        lambda: api.client.post(
            path, content=body, headers={**api.headers("admin"), **JSON}
        )
    )
    assert answer.status_code == 422, answer.text
    assert answer.json()["code"] == "invalid_request"
    assert "Traceback" not in answer.text
    assert seconds < 5


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/api/v1/flags", b'{"key": "a\\ud800"}'),
        ("POST", "/api/v1/flags", b'{"key": "\\udfff"}'),
        ("POST", "/api/v1/flags/f/actors", b'{"actor": "User;\\ud800"}'),
        ("POST", "/api/v1/flags/f/denied", b'{"actor": "\\udc00x"}'),
        ("POST", "/api/v1/flags/f/groups", b'{"group": "g\\ud800"}'),
        ("PUT", "/api/v1/segments/s", b'{"rules": ["ehr in [\\ud800]"]}'),
        ("PUT", "/api/v1/segments/s%ED%A0%80", b'{"rules": ["ehr in [a]"]}'),
        ("POST", "/api/v1/flags", b'{"key": "caf\xe9"}'),
        ("POST", "/api/v1/flags", b'{"key": "a", "why": "\\ud800"}'),
        (
            "POST",
            "/api/v1/flags/f/evaluate",
            b'{"actors": [{"flipper_id": "\\ud800"}]}',
        ),
    ],
)
def test_lone_surrogates_and_bad_utf8_are_4xx_problems_and_write_nothing(
    api: Api, method: str, path: str, body: bytes
) -> None:
    api.store.create_flag(Flag(key="f"), SETUP)
    before = api.store.version()
    answer = api.client.request(
        method, path, content=body, headers={**api.headers("admin"), **JSON}
    )
    assert 400 <= answer.status_code < 500, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["code"] in (
        "invalid_request",
        "invalid_identifier",
        "invalid_segment",
        "not_found",
    )
    assert api.store.version() == before


def test_events_with_lone_surrogates_are_rejected_one_by_one(api: Api) -> None:
    good = {"type": "exposure", "at": AT, "actor": "u1", "flag": "f", "variant": "on"}
    body = (
        b'{"events": [{"type": "exposure", "at": "' + AT.encode() + b'", '
        b'"actor": "\\ud800", "flag": "f", "variant": "on"}, '
        b'{"type": "request", "at": "' + AT.encode() + b'", "actor": "u1", '
        b'"status": 500, "error": "boom \\udfff"}, ' + json.dumps(good).encode() + b"]}"
    )
    answer = api.client.post(
        "/api/v1/events", content=body, headers={**api.headers("sdk"), **JSON}
    )
    assert answer.status_code == 200, answer.text
    document = answer.json()
    assert document["accepted"] == 1
    assert [r["index"] for r in document["rejected"]] == [0, 1]


def test_ten_thousand_actors_on_one_flag_are_served_and_changed_quickly(
    api: Api,
) -> None:
    actors = tuple(f"User;{n}" for n in range(10_000))
    api.store.create_flag(Flag(key="big", actors=actors), SETUP)
    admin = api.headers("admin")
    reads = [
        ("GET", "/api/v1/flags/big", None),
        ("GET", "/api/v1/flags", None),
        ("GET", "/api/v1/environments/production/snapshot", None),
        ("POST", "/api/v1/flags/big/evaluate", {"actors": [{"flipper_id": "x"}]}),
        ("POST", "/api/v1/flags/big/actors", {"actor": "User;10000"}),
        ("DELETE", "/api/v1/flags/big/actors/User;0", None),
        ("GET", "/flipper/api/features/big", None),
        ("GET", "/flipper/api/actors/User;5000?keys=big", None),
    ]
    for method, path, body in reads:
        answer, seconds, _ = measured(
            partial(api.client.request, method, path, json=body, headers=admin)
        )
        assert answer.status_code == 200, (path, answer.text[:300])
        assert seconds < 3, (path, seconds)
    flag = api.store.get_flag("big")
    assert flag is not None
    assert len(flag.actors) == 10_000
    assert "User;10000" in flag.actors and "User;0" not in flag.actors


def test_a_flood_of_distinct_error_fingerprints_is_bounded(api: Api) -> None:
    sink = api.app.state.flagramp.events
    assert isinstance(sink, ScopeSink)
    spec = MetricSpec("errors", MetricKind.COUNT, ("sm_request",))
    pipe = BatchIngest("run-1/p/s/1", "f", [spec])
    sink.watch(pipe)
    exposures = [
        {"type": "exposure", "at": AT, "actor": f"u{n}", "flag": "f", "variant": "on"}
        for n in range(100)
    ]
    seed = api.client.post(
        "/api/v1/events", json={"events": exposures}, headers=api.headers("sdk")
    )
    assert seed.json()["accepted"] == 100
    for batch in range(2):
        events = [
            {
                "type": "request",
                "at": AT,
                "actor": f"u{n % 100}",
                "status": 500,
                "latency_ms": 12.5,
                "route": "/inbox",
                "name": "sm_request",
                "error": f"Error {batch}-{n}: at line {n * 7919}",
            }
            for n in range(5_000)
        ]
        answer, seconds, peak = measured(
            partial(
                api.client.post,
                "/api/v1/events",
                json={"batch_key": f"flood-{batch}", "events": events},
                headers=api.headers("sdk"),
            )
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["accepted"] == 5_000
        assert seconds < 10
        assert peak < 64 * 1024 * 1024
    windows = sink.windows.windows("run-1/p/s/1", "f")
    assert windows
    for window in windows:
        assert len(window.fingerprints) <= pipe.fingerprint_cap + 1
        assert window.fingerprints_overflowed
        assert OTHER_FINGERPRINTS in window.fingerprints
