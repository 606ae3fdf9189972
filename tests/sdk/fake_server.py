"""The wire of docs/sdk.md as an `httpx.MockTransport`, for tests of the SDK alone.

It answers as the server must (snapshot with ETag and 304, the SSE stream with
snapshot and change events and `Last-Event-ID` resumption, the events endpoint
with batch keys and per-event rejections from `core.event_parsing`), keeps every
request it saw, and can be told to fail. The tests against the real server
(test_live_server.py) check the same behaviour end to end.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import queue
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx

from flagramp.core.event_parsing import parse_batch
from flagramp.core.flags import Flag, Segment
from flagramp.store.documents import flag_document, segment_document

_END = object()


@dataclass
class Stream:
    """One open SSE connection: what it was sent, and a way to end it."""

    last_event_id: str | None
    lines: queue.Queue[object] = field(default_factory=queue.Queue)
    closed: threading.Event = field(default_factory=threading.Event)

    def send(self, event: str, event_id: int, data: object) -> None:
        self.lines.put(f"event: {event}\nid: {event_id}\ndata: {json.dumps(data)}\n\n")

    def end(self) -> None:
        self.lines.put(_END)

    def chunks(self) -> Iterator[bytes]:
        while not self.closed.is_set():
            try:
                item = self.lines.get(timeout=0.05)
            except queue.Empty:
                continue
            if item is _END:
                return
            assert isinstance(item, str)
            yield item.encode()

    async def achunks(self) -> AsyncIterator[bytes]:
        while not self.closed.is_set():
            try:
                item = self.lines.get_nowait()
            except queue.Empty:
                await asyncio.sleep(0.01)
                continue
            if item is _END:
                return
            assert isinstance(item, str)
            yield item.encode()


class _SyncBody(httpx.SyncByteStream):
    def __init__(self, stream: Stream) -> None:
        self.stream = stream

    def __iter__(self) -> Iterator[bytes]:
        return self.stream.chunks()

    def close(self) -> None:
        self.stream.closed.set()


class _AsyncBody(httpx.AsyncByteStream):
    def __init__(self, stream: Stream) -> None:
        self.stream = stream

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self.stream.achunks()

    async def aclose(self) -> None:
        self.stream.closed.set()


class FakeServer:
    """A flag server for one environment, in memory."""

    def __init__(self, environment: str = "production", *, is_async: bool = False):
        self.environment = environment
        self.is_async = is_async
        self.version = 1
        self.flags: dict[str, dict[str, Any]] = {}
        self.segments: dict[str, dict[str, Any]] = {}
        self.history: list[tuple[int, list[dict[str, Any]]]] = []
        self.streams: list[Stream] = []
        self.requests: list[httpx.Request] = []
        self.batches: list[dict[str, Any]] = []
        self.batch_keys: set[str] = set()
        self.answers: dict[str, list[int]] = {
            "events": [],
            "stream": [],
            "snapshot": [],
        }
        self.down = False
        self.lock = threading.Lock()

    # --- the store side -------------------------------------------------------------

    def set_flag(self, flag: Flag) -> int:
        document = flag_document(flag)
        self.flags[flag.key] = document
        return self._changed([{"kind": "flag", "key": flag.key, "after": document}])

    def delete_flag(self, key: str) -> int:
        self.flags.pop(key, None)
        return self._changed([{"kind": "flag", "key": key, "after": None}])

    def set_segment(self, segment: Segment) -> int:
        document = segment_document(segment)
        self.segments[segment.name] = document
        return self._changed(
            [{"kind": "segment", "key": segment.name, "after": document}]
        )

    def snapshot(self) -> dict[str, Any]:
        return {
            "environment": self.environment,
            "version": self.version,
            "flags": list(self.flags.values()),
            "segments": list(self.segments.values()),
        }

    def end_streams(self) -> None:
        """Every open stream ends, as when the server restarts."""
        with self.lock:
            streams, self.streams = self.streams, []
        for stream in streams:
            stream.end()

    def close(self) -> None:
        """End every stream for good (tests call it when they are done)."""
        self.end_streams()
        self.down = True

    def events(self) -> list[dict[str, Any]]:
        """Every event of every batch received (duplicates of a key once)."""
        return [e for batch in self.batches for e in batch["events"]]

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    # --- the HTTP side --------------------------------------------------------------

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.down:
            raise httpx.ConnectError("connection refused", request=request)
        path = request.url.path
        if path == "/api/v1/stream":
            return self._stream(request)
        if path == f"/api/v1/environments/{self.environment}/snapshot":
            return self._snapshot(request)
        if path == "/api/v1/events" and request.method == "POST":
            return self._events(request)
        return _problem(404, "not_found", f"no route {path}")

    def _stream(self, request: httpx.Request) -> httpx.Response:
        status = self._forced("stream")
        if status is not None:
            return _problem(status, "forced", "told to fail")
        last = request.headers.get("last-event-id")
        stream = Stream(last)
        with self.lock:
            if last is not None and last.isdigit() and int(last) <= self.version:
                for version, changes in self.history:
                    if version > int(last):
                        stream.send("change", version, _change(version, changes))
            else:
                stream.send("snapshot", self.version, self.snapshot())
            self.streams.append(stream)
        body: httpx.SyncByteStream | httpx.AsyncByteStream
        body = _AsyncBody(stream) if self.is_async else _SyncBody(stream)
        return httpx.Response(
            200, headers={"content-type": "text/event-stream"}, stream=body
        )

    def _snapshot(self, request: httpx.Request) -> httpx.Response:
        status = self._forced("snapshot")
        if status is not None:
            return _problem(status, "forced", "told to fail")
        etag = f'"{self.version}"'
        if request.headers.get("if-none-match") == etag:
            return httpx.Response(304, headers={"etag": etag})
        return httpx.Response(200, json=self.snapshot(), headers={"etag": etag})

    def _events(self, request: httpx.Request) -> httpx.Response:
        status = self._forced("events")
        if status is not None:
            return _problem(status, "forced", "told to fail")
        raw = request.content
        if request.headers.get("content-encoding") == "gzip":
            raw = gzip.decompress(raw)
        body = json.loads(raw)
        key = body["batch_key"]
        if key in self.batch_keys:
            return httpx.Response(
                200,
                json={
                    "batch_key": key,
                    "accepted": 0,
                    "duplicate": True,
                    "rejected": [],
                },
            )
        parsed = parse_batch(body["events"], key=key)
        self.batch_keys.add(key)
        self.batches.append(body)
        rejected = [
            {"index": r.index, "code": r.code, "reason": r.reason}
            for r in parsed.rejected
        ]
        return httpx.Response(
            200,
            json={
                "batch_key": key,
                "accepted": parsed.accepted,
                "duplicate": False,
                "rejected": rejected,
            },
        )

    def _forced(self, what: str) -> int | None:
        answers = self.answers[what]
        return answers.pop(0) if answers else None

    def _changed(self, changes: list[dict[str, Any]]) -> int:
        with self.lock:
            self.version += 1
            self.history.append((self.version, changes))
            streams = list(self.streams)
        for stream in streams:
            stream.send("change", self.version, _change(self.version, changes))
        return self.version


def _change(version: int, changes: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "version": version,
        "changes": [
            dict(c, action="update" if c["after"] else "delete") for c in changes
        ],
    }


def _problem(status: int, code: str, detail: str) -> httpx.Response:
    return httpx.Response(
        status,
        json={
            "type": f"https://flagramp.dev/problems/{code}",
            "title": code,
            "status": status,
            "detail": detail,
            "code": code,
        },
        headers={"content-type": "application/problem+json"},
    )


def wait_for(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    """Wait until `condition()` holds; fail the test after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("the condition did not hold in time")
        time.sleep(0.005)
