"""Clocks: the only way time enters flagramp's pure layers."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Protocol


class Clock(Protocol):
    """Something that tells the current time (timezone-aware UTC)."""

    def now(self) -> dt.datetime: ...


class SystemClock:
    """The wall clock. Used only at the edges (CLI, server, store)."""

    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)


@dataclass
class VirtualClock:
    """A clock that moves only when told to: tests, the simulator, the demo."""

    current: dt.datetime = field(
        default_factory=lambda: dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    )

    def now(self) -> dt.datetime:
        return self.current

    def advance(self, delta: dt.timedelta) -> dt.datetime:
        """Move forward by `delta` and return the new time."""
        if delta < dt.timedelta(0):
            raise ValueError("a clock never runs backwards")
        self.current += delta
        return self.current
