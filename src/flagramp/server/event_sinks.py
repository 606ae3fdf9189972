"""An `EventSink` over the engine's runs and ingest scopes registered with it.

Given `routes` (the server's `RunService.event_routes`), each batch of an
environment goes to every scope the environment's active runs read now:
the current stage attempt's scope of the current phase's flags, and the watch
scopes of earlier phases (`engine.event_targets`), as `flagramp events push`
routes them. `ScopeSink.watch(pipe)` registers a scope besides (a
`stats.BatchIngest`: run string, flag, metrics). Each batch goes to every scope
of its environment in one transaction per scope (`store.WindowStore.ingest`).
Exposures route by flag; outcomes and business events carry no flag and go to
every scope of the environment, where those of actors never exposed to its
flag count as unattributed. Exposures of a flag no scope watches, and every
event of an environment without scopes, are `unwatched`.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence

from flagramp.core.events import EventBatch, Exposure
from flagramp.engine.event_targets import EventRoute
from flagramp.server.ports import RoutedBatch
from flagramp.stats.batch_ingest import BatchIngest
from flagramp.store.windows import WindowStore

#: Routed scopes whose ingest pipes are kept (their caches are worth keeping).
ROUTED_PIPES = 1024

Routes = Callable[[str], Sequence[EventRoute]]


class ScopeSink:
    """Routes batches to the runs' scopes and the registered scopes of their
    environment."""

    def __init__(self, windows: WindowStore, routes: Routes | None = None) -> None:
        self.windows = windows
        self.routes = routes
        self._scopes: dict[str, dict[tuple[str, str], _Scope]] = {}
        self._routed: OrderedDict[tuple[str, str, str], _Scope] = OrderedDict()
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
        scopes += self._routed_scopes(environment)
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

    def _routed_scopes(self, environment: str) -> list[_Scope]:
        if self.routes is None:
            return []
        found: list[_Scope] = []
        for route in self.routes(environment):
            key = (route.scope, route.flag, route.plan_hash)
            with self._lock:
                scope = self._routed.get(key)
                if scope is None:
                    pipe = BatchIngest(
                        route.scope, route.flag, route.specs, environment=environment
                    )
                    scope = self._routed[key] = _Scope(pipe)
                    while len(self._routed) > ROUTED_PIPES:
                        self._routed.popitem(last=False)
                else:
                    self._routed.move_to_end(key)
            found.append(scope)
        return found


class _Scope:
    def __init__(self, pipe: BatchIngest) -> None:
        self.pipe = pipe
        self.lock = threading.Lock()
