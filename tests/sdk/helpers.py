"""Small builders the SDK tests share."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from flagramp.core.flags import Flag, Segment
from flagramp.store.documents import flag_document, segment_document
from tests.server import live_server


def snapshot_of(
    flags: Iterable[Flag],
    segments: Iterable[Segment] = (),
    *,
    version: int = 1,
    environment: str = "production",
) -> dict[str, Any]:
    """A snapshot document as the server sends it."""
    return {
        "environment": environment,
        "version": version,
        "flags": [flag_document(f) for f in flags],
        "segments": [segment_document(s) for s in segments],
    }


class FakeClock:
    """Seconds since the epoch that move only when told to."""

    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@contextmanager
def serving(app: Any) -> Iterator[str]:
    """Serve an ASGI app with uvicorn on a free loopback port (no lifespan);
    yields its URL."""
    with live_server.serving(app, lifespan="off") as url:
        yield url
