"""A scope whose state and windows live in the store, shaped like `WindowIngest`.

`sources.PushedSource` takes either: an in-memory `stats.ingest.WindowIngest`
(one process), or a `StoredIngest` (any number of processes; nothing lost on a
restart). The receiver's clock comes from the `Clock` given, unless the caller
passes `received_at`.
"""

from __future__ import annotations

import datetime as dt

from flagramp.core.clock import Clock
from flagramp.core.events import EventBatch
from flagramp.stats.batch_ingest import BatchIngest, IngestCounts, MetricSpec
from flagramp.stats.windows import Window
from flagramp.store.windows import WindowStore


class StoredIngest:
    """`WindowStore.ingest` and `WindowStore.windows` bound to one scope."""

    def __init__(self, store: WindowStore, pipe: BatchIngest, clock: Clock) -> None:
        self.store, self.pipe, self.clock = store, pipe, clock

    @property
    def specs(self) -> tuple[MetricSpec, ...]:
        """The metrics computed, in the order given."""
        return self.pipe.specs

    def add_batch(
        self, batch: EventBatch, *, received_at: dt.datetime | None = None
    ) -> IngestCounts:
        """Ingest the batch in one transaction (see `WindowStore.ingest`)."""
        now = self.clock.now() if received_at is None else received_at
        return self.store.ingest(self.pipe, batch, received_at=now)

    def windows(
        self, *, start: int | None = None, end: int | None = None
    ) -> tuple[Window, ...]:
        """The scope's stored windows within [start, end) epoch minutes."""
        return self.store.windows(self.pipe.run, self.pipe.flag, start=start, end=end)
