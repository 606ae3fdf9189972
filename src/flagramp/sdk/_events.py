"""Events on their way to the server: the queue, batches, and what to do with each.

The hot path appends plain tuples (exposures) or finished dicts (requests,
business events) to `Outbox.queue`, a deque (append and popleft are atomic, so
no lock is taken on the hot path). The sender takes batches of up to
`batch_size` events, each with a key of its own (`sdk-<client uuid>-<n>`): a
batch that failed to arrive is sent again under the same key, so the server
counts it once however often it is retried.

Nothing is kept for ever: the queue holds at most `max_queue` events (more are
dropped and counted), and a batch whose oldest event is older than the server
accepts (`MAX_EVENT_AGE`) is dropped with a log line instead of being retried.
"""

from __future__ import annotations

import gzip
import itertools
import json
import logging
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx

from flagramp.core.event_parsing import MAX_EVENT_AGE
from flagramp.core.types import Json
from flagramp.sdk._http import Verdict, describe, judge_batch

logger = logging.getLogger("flagramp.sdk")

#: (at, actor, flag, enabled, allow_listed): an exposure as the hot path keeps it.
ExposureItem = tuple[float, str, str, bool, bool]
QueueItem = ExposureItem | dict[str, Json]

#: Older batches are dropped: the server refuses events past MAX_EVENT_AGE, and
#: five minutes of margin cover clocks that disagree a little.
MAX_BATCH_AGE_S = MAX_EVENT_AGE.total_seconds() - 300.0
#: Bodies above this many bytes are gzipped (small ones cost more to compress).
GZIP_ABOVE = 1024


@dataclass(slots=True)
class Batch:
    """Events sent together under one idempotency key."""

    key: str
    events: list[dict[str, Json]]
    oldest: float
    attempts: int = 0


@dataclass(slots=True)
class EventCounts:
    """What became of the events this client recorded."""

    sent: int = 0
    rejected: int = 0
    dropped: int = 0
    rejected_codes: dict[str, int] = field(default_factory=dict)


class Outbox:
    """The queue of recorded events and the batches still to deliver.

    Only `queue.append` may be called from any thread; everything else is for the
    one sender at a time (the client holds a lock around sending).
    """

    def __init__(
        self,
        environment: str,
        batch_size: int,
        max_queue: int,
        clock: Callable[[], float],
    ) -> None:
        self.environment = environment
        self.batch_size = batch_size
        self.max_queue = max_queue
        self.queue: deque[QueueItem] = deque()
        self.counts = EventCounts()
        self._clock = clock
        self._unsent: deque[Batch] = deque()
        self._failing = False
        self._prefix = f"sdk-{uuid.uuid4().hex}-"
        self._numbers = itertools.count(1)

    @property
    def pending(self) -> int:
        """Events recorded and not yet delivered (queued or awaiting a retry)."""
        return len(self.queue) + sum(len(b.events) for b in self._unsent)

    def put(self, item: QueueItem) -> None:
        """Queue one event, or count it dropped when the queue is full."""
        if len(self.queue) < self.max_queue:
            self.queue.append(item)
        else:
            self.counts.dropped += 1

    def next_batch(self) -> Batch | None:
        """The next batch to send: one awaiting a retry first, else new events."""
        self._expire()
        if self._unsent:
            return self._unsent.popleft()
        items: list[QueueItem] = []
        queue = self.queue
        while queue and len(items) < self.batch_size:
            items.append(queue.popleft())
        if not items:
            return None
        events = [self._document(item) for item in items]
        oldest = min(_time_of(e) for e in events)
        return Batch(self._new_key(), events, oldest)

    def retry(self, batch: Batch) -> None:
        """Keep `batch` (same key) to send again, first in line."""
        batch.attempts += 1
        self._unsent.appendleft(batch)
        self._bound()

    def requeue(self, batch: Batch) -> None:
        """Put back a batch whose sending was interrupted (not a failed attempt)."""
        self._unsent.appendleft(batch)

    def split(self, batch: Batch) -> None:
        """The server found the batch too large: send it as two, under new keys."""
        half = len(batch.events) // 2
        for part in (batch.events[half:], batch.events[:half]):
            if part:
                oldest = min(_time_of(e) for e in part)
                self._unsent.appendleft(Batch(self._new_key(), part, oldest))

    def delivered(self, batch: Batch, accepted: int, rejected: list[Json]) -> None:
        """Count the server's answer; log what it refused, by reason code."""
        self.counts.sent += accepted
        self.counts.rejected += len(rejected)
        codes = self.counts.rejected_codes
        for item in rejected:
            code = item.get("code") if isinstance(item, dict) else None
            codes[str(code)] = codes.get(str(code), 0) + 1
        if rejected:
            first = rejected[0]
            reason = first.get("reason") if isinstance(first, dict) else None
            logger.warning(
                "flagramp: the server refused %d of %d events of batch %s (first: %s)",
                len(rejected),
                len(batch.events),
                batch.key,
                reason,
            )

    def dropped(self, batch: Batch, why: str) -> None:
        """Give up on a batch (logged): retrying could not make it arrive."""
        self.counts.dropped += len(batch.events)
        logger.warning(
            "flagramp: dropped %d events (batch %s): %s",
            len(batch.events),
            batch.key,
            why,
        )

    def body(self, batch: Batch) -> tuple[bytes, dict[str, str]]:
        """The request body for `batch` and its content headers."""
        document = {
            "environment": self.environment,
            "batch_key": batch.key,
            "events": batch.events,
        }
        raw = json.dumps(document, separators=(",", ":")).encode()
        headers = {"Content-Type": "application/json"}
        if len(raw) > GZIP_ABOVE:
            raw = gzip.compress(raw, compresslevel=5)
            headers["Content-Encoding"] = "gzip"
        return raw, headers

    def settle(
        self, batch: Batch, response: httpx.Response | None, error: Exception | None
    ) -> bool:
        """Record what became of a sent batch; True if the sender may go on."""
        if response is None:
            self._failed(batch, f"{type(error).__name__}: {error}")
            return False
        verdict, accepted, rejected = judge_batch(response)
        if verdict is Verdict.RETRY:
            self._failed(batch, describe(response))
            return False
        if self._failing:
            self._failing = False
            logger.warning("flagramp: events are delivered again")
        if verdict is Verdict.DELIVERED:
            self.delivered(batch, accepted, rejected)
        elif verdict is Verdict.DUPLICATE:
            self.counts.sent += len(batch.events)
        elif verdict is Verdict.SPLIT and len(batch.events) > 1:
            self.split(batch)
        else:
            self.dropped(batch, f"the server refused it ({describe(response)})")
        return True

    def _failed(self, batch: Batch, why: str) -> None:
        self.retry(batch)
        if not self._failing:
            self._failing = True
            logger.warning(
                "flagramp: cannot deliver events (%s); keeping %d to retry",
                why,
                self.pending,
            )

    def _document(self, item: QueueItem) -> dict[str, Json]:
        if isinstance(item, dict):
            return item
        at, actor, flag, enabled, allow_listed = item
        return {
            "type": "exposure",
            "at": at,
            "actor": actor,
            "flag": flag,
            "variant": "on" if enabled else "off",
            "environment": self.environment,
            "allow_listed": allow_listed,
        }

    def _new_key(self) -> str:
        return f"{self._prefix}{next(self._numbers)}"

    def _expire(self) -> None:
        horizon = self._clock() - MAX_BATCH_AGE_S
        kept: deque[Batch] = deque()
        for batch in self._unsent:
            if batch.oldest < horizon:
                self.dropped(batch, "its events are older than the server accepts")
            else:
                kept.append(batch)
        self._unsent = kept

    def _bound(self) -> None:
        # Awaiting a retry counts against max_queue too: the oldest go first.
        while self._unsent and self.pending > self.max_queue:
            oldest = min(self._unsent, key=lambda b: b.oldest)
            self._unsent.remove(oldest)
            self.dropped(oldest, "the event queue is full")


def _time_of(event: dict[str, Json]) -> float:
    at = event.get("at")
    return float(at) if isinstance(at, int | float) else 0.0
