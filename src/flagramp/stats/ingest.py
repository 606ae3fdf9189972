"""Events into one-minute windows per run, flag and lane, with the state in memory.

What the windows' sums hold, and the rules of attribution, are in
`stats.batch_ingest`; what carries over between batches is in `stats.scope_state`.

`WindowIngest` keeps one scope's state (actor states, mark layout, batch keys) and
its open windows in memory, and applies each batch's `BatchIngest.aggregate`
result whole: a batch that fails changes nothing, so a retry is never refused as
a duplicate. Its state can be saved (`snapshot()`, a `ScopeSnapshot`) and given
to a new `WindowIngest` to resume exactly, but then only the process holding it
can ingest the scope. For several processes (server replicas), keep the state in
the store: `store.WindowStore.ingest` looks up the batch's actors and writes
windows, states and batch key in one transaction, and no process holds anything
that matters.

`WindowIngest` is the only mutable object in `stats`. No I/O, no clock: event
times decide the minute, and the receiver's clock is an argument.
"""

from __future__ import annotations

import datetime as dt
import heapq
import math
from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Unpack

from flagramp.core.events import Event, EventBatch
from flagramp.stats.batch_ingest import (
    BatchIngest,
    BatchResult,
    IngestCounts,
    IngestOptions,
    MetricSpec,
)
from flagramp.stats.scope_state import ActorState, MarkLayout, ScopeSnapshot
from flagramp.stats.sketches import (
    actor_hash,
)
from flagramp.stats.windows import (
    Lane,
    Window,
)

__all__ = [
    "ActorState",
    "BatchIngest",
    "BatchResult",
    "IngestCounts",
    "MarkLayout",
    "MetricSpec",
    "ScopeSnapshot",
    "WindowIngest",
]


class WindowIngest:
    """Accumulates events of one run and flag into minute windows, in memory.

    Not thread-safe: one ingest per run and flag, fed by one writer.
    """

    def __init__(
        self,
        run: str,
        flag: str,
        metrics: Iterable[MetricSpec],
        *,
        state: ScopeSnapshot | None = None,
        **options: Unpack[IngestOptions],
    ) -> None:
        """`options` are `BatchIngest`'s; `state` resumes a saved scope."""
        self.pipe = BatchIngest(run, flag, metrics, **options)
        state = state or ScopeSnapshot()
        self._actors: dict[int, ActorState] = dict(state.actors)
        self._marks = state.marks
        self._open: dict[tuple[int, Lane], Window] = {}
        self._keys: dict[str, float] = dict(state.batch_keys)
        self._expiry = [(t, k) for k, t in self._keys.items() if math.isfinite(t)]
        heapq.heapify(self._expiry)

    @property
    def run(self) -> str:
        return self.pipe.run

    @property
    def flag(self) -> str:
        return self.pipe.flag

    @property
    def specs(self) -> tuple[MetricSpec, ...]:
        """The metrics computed, in the order given."""
        return self.pipe.specs

    def snapshot(self) -> ScopeSnapshot:
        """The scope's state (actors, marks, batch keys), to save and resume."""
        return ScopeSnapshot(dict(self._actors), self._marks, dict(self._keys))

    def lane_of(self, actor: str) -> Lane | None:
        """The lane `actor`'s outcomes count under; None if never exposed."""
        state = self._actors.get(actor_hash(actor))
        return None if state is None else state.lane

    def add_batch(
        self, batch: EventBatch, *, received_at: dt.datetime | None = None
    ) -> IngestCounts:
        """`add` the batch's events unless its key was already ingested here."""
        if received_at is not None:
            self.forget_batches(received_at)
        if batch.key in self._keys:
            return IngestCounts(duplicate_batch=True)
        result = self._aggregate(batch.events, received_at)
        self._apply(result, batch.key)
        return result.counts

    def add(
        self, events: Sequence[Event], *, received_at: dt.datetime | None = None
    ) -> IngestCounts:
        """Aggregate events into their minute windows (no batch key)."""
        result = self._aggregate(events, received_at)
        self._apply(result, None)
        return result.counts

    def forget_batches(self, now: dt.datetime) -> int:
        """Drop the keys of batches whose redelivery would now count nothing.

        Returns how many were dropped. Keys of batches added without a
        receiver's clock are kept for the ingest's life.
        """
        cutoff, dropped = now.timestamp(), 0
        while self._expiry and self._expiry[0][0] < cutoff:
            _, key = heapq.heappop(self._expiry)
            del self._keys[key]
            dropped += 1
        return dropped

    def windows(
        self, *, start: int | None = None, end: int | None = None
    ) -> tuple[Window, ...]:
        """Open windows within [start, end) epoch minutes, in (minute, lane) order."""
        return tuple(
            self._open[k]
            for k in sorted(self._open)
            if (start is None or k[0] >= start) and (end is None or k[0] < end)
        )

    def flush(self, before: int | None = None) -> tuple[Window, ...]:
        """Windows starting before epoch minute `before` (all if None), then dropped."""
        keys = sorted(k for k in self._open if before is None or k[0] < before)
        return tuple(self._open.pop(k) for k in keys)

    def _aggregate(
        self, events: Sequence[Event], received_at: dt.datetime | None
    ) -> BatchResult:
        return self.pipe.aggregate(
            events, self._lookup, marks=self._marks, received_at=received_at
        )

    def _lookup(self, hashes: Collection[int]) -> Mapping[int, ActorState]:
        actors = self._actors
        return {h: actors[h] for h in hashes if h in actors}

    def _apply(self, result: BatchResult, key: str | None) -> None:
        merged: dict[tuple[int, Lane], Window] = {}
        for window in result.windows:
            k = (window.key.start, window.key.lane)
            old = self._open.get(k)
            merged[k] = window if old is None else old.merge(window)
        # Nothing below can fail: the batch lands whole or not at all.
        self._open.update(merged)
        self._actors.update(result.actors)
        self._marks = result.marks
        if key is not None:
            self._keys[key] = result.forget_after
            if math.isfinite(result.forget_after):
                heapq.heappush(self._expiry, (result.forget_after, key))
