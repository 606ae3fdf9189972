"""One reader of the change feed per replica, fanned out to its stream clients.

The hub keeps the last store version it has read. When woken (PostgreSQL's
NOTIFY, see `pg_listener`) or every `poll_seconds` (SQLite; a safety net on
PostgreSQL), it reads the store version, and if it moved, every change since,
once, grouped into one `VersionChanges` per (version, environment), and puts
each on the queue of every client of that environment. A thousand clients cost
one read per change, not a thousand.

A client whose queue fills up (it reads slower than changes come) is marked
`overflowed` and stops receiving; its stream then catches up from the store
itself and goes on, so a slow client loses nothing and slows nobody.

With the version the hub reads the store's epoch (`store/epochs.py`). A restore
gives the store a new one: the changes the hub would read across it are not a
diff from what its clients hold (the tables are a backup's), so instead it puts
one `Reload` on every client's queue, of every environment, and each stream
sends its client a fresh snapshot. The epoch is in the database, so every
replica notices, whichever process restored.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass

import anyio.to_thread

from flagramp.core.errors import FlagrampError
from flagramp.store import Change, SqlFlagStore
from flagramp.store.epochs import StorePosition

logger = logging.getLogger(__name__)

#: The kinds of change a stream carries (flags and segments; not runs or tokens).
STREAMED_KINDS = frozenset({"flag", "segment"})
#: Changes read per query while catching up.
READ_LIMIT = 1_000
#: Versions a client's queue holds before it must catch up from the store.
QUEUE_SIZE = 1_000


@dataclass(frozen=True, slots=True)
class VersionChanges:
    """What one store version changed in one environment (flags and segments)."""

    version: int
    environment: str
    changes: tuple[Change, ...]


def group_changes(changes: Iterable[Change]) -> list[VersionChanges]:
    """Streamed changes grouped by (version, environment), in feed order."""
    groups: dict[tuple[int, str], list[Change]] = {}
    for change in changes:
        if change.kind in STREAMED_KINDS:
            groups.setdefault((change.version, change.environment), []).append(change)
    return [
        VersionChanges(version, environment, tuple(items))
        for (version, environment), items in groups.items()
    ]


@dataclass(frozen=True, slots=True)
class Reload:
    """The store was restored: at `position` it holds another history."""

    position: StorePosition


#: What a subscriber's queue holds.
HubItem = VersionChanges | Reload


class Subscriber:
    """One stream client's queue of versions."""

    def __init__(self, environment: str, size: int = QUEUE_SIZE) -> None:
        self.environment = environment
        self.queue: asyncio.Queue[HubItem] = asyncio.Queue(size)
        self.overflowed = False

    def offer(self, item: HubItem) -> None:
        if self.overflowed:
            return
        try:
            self.queue.put_nowait(item)
        except asyncio.QueueFull:
            self.overflowed = True

    def drain(self) -> None:
        """Forget what is queued and start receiving again (the stream is about
        to catch up from the store)."""
        while not self.queue.empty():
            self.queue.get_nowait()
        self.overflowed = False


class ChangeHub:
    """Reads the store's change feed and fans it out to subscribers."""

    def __init__(
        self, store: SqlFlagStore, *, poll_seconds: float, queue_size: int = QUEUE_SIZE
    ) -> None:
        self.store = store
        self.poll_seconds = poll_seconds
        self.queue_size = queue_size
        self.version: int | None = None
        self.epoch: str | None = None
        self._subscribers: dict[str, set[Subscriber]] = {}
        self._wake = asyncio.Event()

    def subscribe(self, environment: str) -> Subscriber:
        """A new subscriber; it receives every version read from now on."""
        subscriber = Subscriber(environment, self.queue_size)
        self._subscribers.setdefault(environment, set()).add(subscriber)
        return subscriber

    def unsubscribe(self, subscriber: Subscriber) -> None:
        clients = self._subscribers.get(subscriber.environment)
        if clients is not None:
            clients.discard(subscriber)
            if not clients:
                del self._subscribers[subscriber.environment]

    def clients(self) -> int:
        """How many subscribers there are."""
        return sum(len(s) for s in self._subscribers.values())

    def wake(self) -> None:
        """Read the feed now (a notification came). Call on the hub's loop."""
        self._wake.set()

    async def run(self) -> None:
        """Read the feed whenever woken or every `poll_seconds`, until cancelled."""
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll_seconds)
            self._wake.clear()
            try:
                await self.read()
            except FlagrampError as exc:
                # The store is down: clients keep their streams and get the
                # changes once it is back (the next read starts where this one
                # stopped).
                logger.warning("change feed: %s", exc)

    async def read(self) -> None:
        """Read and publish every change after the last version read."""
        position = await anyio.to_thread.run_sync(self.store.position)
        current = position.version
        if self.version is None or self.epoch is None:
            self.version, self.epoch = current, position.epoch
            return
        if position.epoch != self.epoch:
            # A restore: skip what the feed holds up to now (the backup's past
            # and the restore's own row); every client reloads instead.
            self.version, self.epoch = current, position.epoch
            self._reload(Reload(position))
            return
        while self.version < current:
            changes = await anyio.to_thread.run_sync(self._changes_after, self.version)
            if not changes:
                break
            self._publish(group_changes(changes))
            self.version = changes[-1].version
        # Versions without audit rows (a unit that wrote only other tables) have
        # nothing to stream; the next read starts after them.
        self.version = max(self.version, current)

    def _changes_after(self, version: int) -> list[Change]:
        return self.store.changes_since(version, limit=READ_LIMIT)

    def _reload(self, reload: Reload) -> None:
        for clients in tuple(self._subscribers.values()):
            for subscriber in tuple(clients):
                subscriber.offer(reload)

    def _publish(self, groups: list[VersionChanges]) -> None:
        for group in groups:
            for subscriber in tuple(self._subscribers.get(group.environment, ())):
                subscriber.offer(group)
