"""An `EventSink` over ingest scopes registered with it, until the engine's.

`ScopeSink.watch(pipe)` registers a scope (a `stats.BatchIngest`: run string,
flag, metrics); each batch of that environment then goes to every scope of the
environment in one transaction per scope (`store.WindowStore.ingest`).
Exposures route by flag; outcomes and business events carry no flag and go to
every scope of the environment, where those of actors never exposed to its
flag count as unattributed. Exposures of a flag no scope watches, and every
event of an environment without scopes, are `unwatched`.
"""

from __future__ import annotations

import datetime as dt
import threading

from flagramp.core.events import EventBatch, Exposure
from flagramp.server.ports import RoutedBatch
from flagramp.stats.batch_ingest import BatchIngest
from flagramp.store.windows import WindowStore


class ScopeSink:
    """Routes batches to the registered scopes of their environment."""

    def __init__(self, windows: WindowStore) -> None:
        self.windows = windows
        self._scopes: dict[str, dict[tuple[str, str], _Scope]] = {}
        self._lock = threading.Lock()

    def watch(self, pipe: BatchIngest) -> None:
        """Send the environment's batches to this scope too (opened if new)."""
        self.windows.open_scope(pipe.run, pipe.flag, pipe.environment)
        with self._lock:
            scopes = self._scopes.setdefault(pipe.environment, {})
            scopes[(pipe.run, pipe.flag)] = _Scope(pipe)

    def unwatch(self, environment: str, run: str, flag: str) -> None:
        """Stop sending batches to the scope (it stays open in the store)."""
        with self._lock:
            self._scopes.get(environment, {}).pop((run, flag), None)

    def accept(
        self, environment: str, batch: EventBatch, *, received_at: dt.datetime
    ) -> RoutedBatch:
        with self._lock:
            scopes = list(self._scopes.get(environment, {}).values())
        if not scopes:
            return RoutedBatch(unwatched=len(batch.events))
        watched = {scope.pipe.flag for scope in scopes}
        unwatched = sum(
            1 for e in batch.events if isinstance(e, Exposure) and e.flag not in watched
        )
        duplicates = 0
        for scope in scopes:
            with scope.lock:  # a BatchIngest is not thread-safe
                counts = self.windows.ingest(scope.pipe, batch, received_at=received_at)
            duplicates += counts.duplicate_batch
        return RoutedBatch(
            scopes=len(scopes), unwatched=unwatched, duplicate=duplicates == len(scopes)
        )


class _Scope:
    def __init__(self, pipe: BatchIngest) -> None:
        self.pipe = pipe
        self.lock = threading.Lock()
