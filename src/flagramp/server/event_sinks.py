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

`ScopeSink.take_many` is what `POST /api/v1/events` calls (through the events
writer, `server.event_intake`): the server's batch keys (with the environment's
existence checked in the same statement) and every scope's ingest, for a group
of requests, in one transaction (`store.WindowStore.take_many`). `KeyedSink`
gives any other `EventSink` the same `take`, in three steps (key seen?,
accept, remember), for sinks that keep nothing in the store.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from contextlib import ExitStack

from flagramp.core.events import EventBatch, Exposure
from flagramp.engine.event_targets import EventRoute
from flagramp.server.ports import EventSink, KeyedBatch, RoutedBatch, TakenBatch
from flagramp.stats.batch_ingest import BatchIngest
from flagramp.store import SqlFlagStore
from flagramp.store.event_batches import Claim, EventBatchKeys
from flagramp.store.windows import BatchToTake, Taken, WindowStore

#: Routed scopes whose ingest pipes are kept (their caches are worth keeping).
ROUTED_PIPES = 1024

#: Environments whose routes `VersionedRoutes` keeps at most.
KEPT_ENVIRONMENTS = 64

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

    def take(
        self,
        environment: str,
        batch: EventBatch,
        *,
        received_at: dt.datetime,
        forget_after: dt.datetime,
    ) -> TakenBatch:
        """The batch key and every scope's ingest in one transaction."""
        return self.take_many(
            [KeyedBatch(environment, batch, received_at, forget_after)]
        )[0]

    def take_many(self, batches: Sequence[KeyedBatch]) -> list[TakenBatch]:
        """Every batch's key and ingest in one transaction (`WindowStore.take_many`)."""
        found: dict[str, list[_Scope]] = {}
        for item in batches:
            if item.environment not in found:
                with self._lock:
                    scopes = list(self._scopes.get(item.environment, {}).values())
                found[item.environment] = scopes + self._routed_scopes(item.environment)
        held_scopes = {id(s): s for scopes in found.values() for s in scopes}
        # The store's order, so that two requests never wait on each other.
        ordered = sorted(held_scopes.values(), key=lambda s: (s.pipe.run, s.pipe.flag))
        with ExitStack() as held:
            for scope in ordered:
                held.enter_context(scope.lock)  # a BatchIngest is not thread-safe
            taken = self.windows.take_many(
                [
                    BatchToTake(
                        item.environment,
                        tuple(s.pipe for s in found[item.environment]),
                        item.batch,
                        item.received_at,
                        item.forget_after,
                    )
                    for item in batches
                ]
            )
        return [
            _taken(item.batch, found[item.environment], one)
            for item, one in zip(batches, taken, strict=True)
        ]

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


def _taken(batch: EventBatch, scopes: Sequence[_Scope], taken: Taken) -> TakenBatch:
    if taken.claim is Claim.NO_ENVIRONMENT:
        return TakenBatch(known_environment=False)
    if taken.duplicate:
        return TakenBatch(duplicate=True)
    watched = {scope.pipe.flag for scope in scopes}
    unwatched = sum(
        1
        for e in batch.events
        if not scopes or (isinstance(e, Exposure) and e.flag not in watched)
    )
    return TakenBatch(unwatched=unwatched)


class _Scope:
    def __init__(self, pipe: BatchIngest) -> None:
        self.pipe = pipe
        self.lock = threading.Lock()


class KeyedSink:
    """`take` for an `EventSink` that keeps nothing in the store: is the key
    known?, the sink's `accept`, then the key remembered. A crash between the
    last two leaves the key unrecorded: the sink must count a redelivery once
    on its own (a scope does, by its own batch keys)."""

    def __init__(self, store: SqlFlagStore, sink: EventSink) -> None:
        self.store = store
        self.sink = sink
        self.keys = EventBatchKeys(store.engine)

    def accept(
        self, environment: str, batch: EventBatch, *, received_at: dt.datetime
    ) -> RoutedBatch:
        routed = self.sink.accept(environment, batch, received_at=received_at)
        return RoutedBatch(routed.scopes, routed.unwatched, routed.duplicate)

    def take(
        self,
        environment: str,
        batch: EventBatch,
        *,
        received_at: dt.datetime,
        forget_after: dt.datetime,
    ) -> TakenBatch:
        if environment not in self.store.environments():
            return TakenBatch(known_environment=False)
        if self.keys.seen(environment, batch.key):
            return TakenBatch(duplicate=True)
        routed = self.sink.accept(environment, batch, received_at=received_at)
        fresh = self.keys.remember(
            environment, batch.key, len(batch.events), forget_after
        )
        if routed.duplicate or not fresh:
            return TakenBatch(duplicate=True)
        return TakenBatch(unwatched=routed.unwatched)

    def take_many(self, batches: Sequence[KeyedBatch]) -> list[TakenBatch]:
        """`take` for each batch in turn (a sink outside the store has no
        transaction to share)."""
        return [
            self.take(
                b.environment,
                b.batch,
                received_at=b.received_at,
                forget_after=b.forget_after,
            )
            for b in batches
        ]


class VersionedRoutes:
    """The runs' event routes of each environment, read again only when the
    store's version moved.

    Every run transition is a unit of work and moves the version, so routes
    kept for the version just read are the routes the runs would give now:
    one small read per batch instead of reading and planning every active run.
    """

    def __init__(self, version: Callable[[], int], routes: Routes) -> None:
        self.version = version
        self.routes = routes
        self._kept: dict[str, tuple[int, Sequence[EventRoute]]] = {}
        self._lock = threading.Lock()

    def __call__(self, environment: str) -> Sequence[EventRoute]:
        now = self.version()
        with self._lock:
            kept = self._kept.get(environment)
        if kept is not None and kept[0] == now:
            return kept[1]
        # Read after the version: a transition in between makes the next
        # batch read them again, never keeps older routes under a newer version.
        found = tuple(self.routes(environment))
        with self._lock:
            if len(self._kept) >= KEPT_ENVIRONMENTS:
                self._kept.clear()  # names come from requests: keep few
            self._kept[environment] = (now, found)
        return found
