"""Events pushed to flagramp (in-process now; over HTTP once the server exists).

The pushed source parses raw batches (`core.event_parsing`), aggregates them into
minute windows and reads metrics back from those windows. It is the only source
with per-user data: its readings carry the windows, so decisions use the
user-bucket variance.

Where the scope's state and windows live is the `IngestTarget` it is given: an
in-memory `stats.ingest.WindowIngest`, or `store.stored_ingest.StoredIngest`
(state and windows in the store, each batch one transaction; what the server and
the engine use, since replicas then share the scope and restarts lose nothing).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from flagramp.core.clock import Clock
from flagramp.core.event_parsing import MAX_EVENT_AGE, parse_batch
from flagramp.core.events import EventBatch, RejectedEvent
from flagramp.sources.base import MetricQuery, Point, Reading, UnknownMetric
from flagramp.stats.ingest import IngestCounts, MetricSpec
from flagramp.stats.windows import Window

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


@dataclass(frozen=True, slots=True)
class PushResult:
    """A pushed batch: its key, what ingest did, and the rejected events."""

    key: str
    counts: IngestCounts
    rejected: tuple[RejectedEvent, ...]

    @property
    def duplicate(self) -> bool:
        """Whether the batch had been delivered before (and was ignored)."""
        return self.counts.duplicate_batch


class IngestTarget(Protocol):
    """Where pushed batches go: one scope's ingest, in memory or in the store."""

    @property
    def specs(self) -> tuple[MetricSpec, ...]: ...

    def add_batch(
        self, batch: EventBatch, *, received_at: dt.datetime | None = None
    ) -> IngestCounts: ...

    def windows(
        self, *, start: int | None = None, end: int | None = None
    ) -> tuple[Window, ...]: ...


class PushedSource:
    """A metric source fed by pushed event batches for one run and flag.

    With a `clock`, batches pushed without `received_at` are checked against its
    time (events too far ahead or behind it are rejected).
    """

    name = "pushed"

    def __init__(self, ingest: IngestTarget, clock: Clock | None = None) -> None:
        self.ingest = ingest
        self.clock = clock

    def push(
        self, batch: EventBatch, *, received_at: dt.datetime | None = None
    ) -> PushResult:
        """Aggregate a batch of parsed events; a redelivered key counts once."""
        now = self._now(received_at)
        return PushResult(batch.key, self.ingest.add_batch(batch, received_at=now), ())

    def push_raw(
        self,
        raw_events: Sequence[object],
        *,
        key: str | None = None,
        received_at: dt.datetime | None = None,
        max_age: dt.timedelta = MAX_EVENT_AGE,
    ) -> PushResult:
        """Parse raw events, keep the valid ones, and aggregate them."""
        now = self._now(received_at)
        parsed = parse_batch(raw_events, key=key, received_at=now, max_age=max_age)
        counts = self.ingest.add_batch(parsed.batch, received_at=now)
        return PushResult(parsed.batch.key, counts, parsed.rejected)

    def windows(self, start: int, end: int) -> tuple[Window, ...]:
        """Windows whose minute lies in [start, end) (epoch minutes)."""
        return self.ingest.windows(start=start, end=end)

    def _now(self, received_at: dt.datetime | None) -> dt.datetime | None:
        if received_at is None and self.clock is not None:
            return self.clock.now()
        return received_at

    def read(self, query: MetricQuery) -> Reading:
        """Per-minute totals of one plan metric, with the windows they came from."""
        if query.metric not in {s.name for s in self.ingest.specs}:
            raise UnknownMetric(self.name, query.metric)
        windows = self.windows(_minute(query.start), _minute(query.end))
        points = tuple(
            Point(
                _EPOCH + dt.timedelta(minutes=w.key.end),
                w.key.lane.value,
                w.metrics[query.metric].sums.total_numerator,
                w.metrics[query.metric].sums.total_denominator,
            )
            for w in windows
        )
        return Reading(self.name, query.metric, points, True, windows)


def _minute(at: dt.datetime) -> int:
    return int(at.timestamp() // 60)
