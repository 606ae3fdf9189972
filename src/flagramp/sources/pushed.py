"""Events pushed to flagramp (in-process now; over HTTP once the server exists).

The pushed source parses raw batches (`core.event_parsing`), aggregates them into
minute windows (`stats.ingest.WindowIngest`) and reads metrics back from those
windows. It is the only source with per-user data: its readings carry the windows,
so decisions use the user-bucket variance.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from flagramp.core.event_parsing import parse_batch
from flagramp.core.events import EventBatch, RejectedEvent
from flagramp.sources.base import MetricQuery, Point, Reading, UnknownMetric
from flagramp.stats.ingest import IngestCounts, WindowIngest
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


class PushedSource:
    """A metric source fed by pushed event batches for one run and flag."""

    name = "pushed"

    def __init__(self, ingest: WindowIngest) -> None:
        self.ingest = ingest

    def push(self, batch: EventBatch) -> PushResult:
        """Aggregate a batch of parsed events; a redelivered key counts once."""
        return PushResult(batch.key, self.ingest.add_batch(batch), ())

    def push_raw(
        self,
        raw_events: Sequence[object],
        *,
        key: str | None = None,
        received_at: dt.datetime | None = None,
    ) -> PushResult:
        """Parse raw events, keep the valid ones, and aggregate them."""
        parsed = parse_batch(raw_events, key=key, received_at=received_at)
        counts = self.ingest.add_batch(parsed.batch)
        return PushResult(parsed.batch.key, counts, parsed.rejected)

    def windows(self, start: int, end: int) -> tuple[Window, ...]:
        """Open windows whose minute lies in [start, end) (epoch minutes)."""
        return tuple(
            w
            for w in self.ingest.windows()
            if start <= w.key.start and w.key.end <= end
        )

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
