"""The SSE events of `/api/v1/stream` (wire.md): `snapshot`, then `change`s.

After the first event (a snapshot, or, when the client resumes with
`Last-Event-ID`, every change after that version), the stream sends one
`change` event per store version that changed the environment's flags or
segments, with the position as its id (`server/positions.py`: the version, and
the epoch once the store was restored). The order is the feed's; no version is
sent twice, none is skipped. A restore (a new epoch) sends a fresh snapshot
instead of changes, and so does a `Last-Event-ID` of another epoch.
"""

from __future__ import annotations

import functools
import json
from collections.abc import AsyncIterator, Callable

import anyio.to_thread
from sse_starlette import ServerSentEvent

from flagramp.core.types import Json
from flagramp.server.positions import parse_position_tag, position_tag
from flagramp.server.snapshots import EnvironmentSnapshot, SnapshotCache
from flagramp.server.streaming.hub import (
    READ_LIMIT,
    ChangeHub,
    Reload,
    VersionChanges,
    group_changes,
)
from flagramp.store import Change, SqlFlagStore
from flagramp.store.epochs import INITIAL_EPOCH, StorePosition

#: A client further behind than this many versions gets a fresh snapshot: it
#: is smaller than the changes it missed.
MAX_CATCH_UP_VERSIONS = 10_000


def parse_last_position(text: str | None) -> StorePosition | None:
    """The store position a reconnecting flag-stream client saw last, or None
    (absent, malformed: it then gets a fresh snapshot)."""
    return parse_position_tag(text)


def resumable(last: StorePosition, current: StorePosition) -> bool:
    """Whether a client at `last` can be brought to `current` with changes: the
    same epoch (history), not ahead of the store, not too far behind."""
    return (
        last.epoch == current.epoch
        and last.version <= current.version
        and current.version - last.version <= MAX_CATCH_UP_VERSIONS
    )


def change_document(change: Change) -> dict[str, Json]:
    """One change as the stream sends it."""
    return {
        "kind": change.kind,
        "key": change.key,
        "action": change.action,
        "after": change.after,
    }


def change_event(group: VersionChanges, epoch: str = INITIAL_EPOCH) -> ServerSentEvent:
    """A `change` event: one store version's changes to the environment, its
    id the position (version, and the epoch once restored)."""
    data = {
        "version": group.version,
        "changes": [change_document(c) for c in group.changes],
    }
    return ServerSentEvent(
        data=json.dumps(data, separators=(",", ":"), ensure_ascii=False),
        event="change",
        id=position_tag(StorePosition(group.version, epoch)),
    )


def snapshot_event(snapshot: EnvironmentSnapshot) -> ServerSentEvent:
    """A `snapshot` event: the whole environment at one version."""
    return ServerSentEvent(
        data=snapshot.body.decode(),
        event="snapshot",
        id=position_tag(snapshot.position),
    )


async def stream_events(
    *,
    hub: ChangeHub,
    store: SqlFlagStore,
    snapshots: SnapshotCache,
    environment: str,
    last_event_id: StorePosition | None,
    on_event: Callable[[str], None] = lambda kind: None,
) -> AsyncIterator[ServerSentEvent]:
    """The events of one client's stream, for as long as it listens."""
    # Subscribe first: whatever the hub reads from now on is queued, so the
    # catch-up below and the queue overlap, and the overlap is skipped by version.
    subscriber = hub.subscribe(environment)
    stream = _Stream(store, snapshots, environment, on_event)
    try:
        current = await anyio.to_thread.run_sync(store.position)
        if last_event_id is not None and resumable(last_event_id, current):
            stream.sent = last_event_id
        else:
            yield await stream.snapshot(current)
        async for event in stream.catch_up():
            yield event
        while True:
            if subscriber.overflowed:
                subscriber.drain()
                async for event in stream.catch_up():
                    yield event
                continue
            item = await subscriber.queue.get()
            if isinstance(item, Reload):
                if stream.has_seen(item.position):
                    continue
                yield await stream.snapshot(item.position)
                continue
            if item.version <= stream.sent.version:
                continue
            yield stream.change(item)
    finally:
        hub.unsubscribe(subscriber)


class _Stream:
    """One client's stream: where it is (`sent`), and how it gets further."""

    def __init__(
        self,
        store: SqlFlagStore,
        snapshots: SnapshotCache,
        environment: str,
        on_event: Callable[[str], None],
    ) -> None:
        self.store = store
        self.snapshots = snapshots
        self.environment = environment
        self.on_event = on_event
        self.sent = StorePosition(-1)

    def has_seen(self, position: StorePosition) -> bool:
        """Whether the client already holds `position` or later of its epoch."""
        return (
            position.epoch == self.sent.epoch and position.version <= self.sent.version
        )

    async def snapshot(self, position: StorePosition) -> ServerSentEvent:
        """A snapshot event at `position` (or later, if the store moved on)."""
        snapshot = await anyio.to_thread.run_sync(
            self.snapshots.get, self.environment, position
        )
        self.on_event("snapshot")
        self.sent = snapshot.position
        return snapshot_event(snapshot)

    def change(self, group: VersionChanges) -> ServerSentEvent:
        """A change event; versions only grow, across restores too."""
        self.on_event("change")
        self.sent = StorePosition(group.version, self.sent.epoch)
        return change_event(group, self.sent.epoch)

    async def catch_up(self) -> AsyncIterator[ServerSentEvent]:
        """Every change after `sent`, read from the store; a snapshot instead if
        the store was restored since (its epoch is not the client's)."""
        current = await anyio.to_thread.run_sync(self.store.position)
        if current.epoch != self.sent.epoch:
            yield await self.snapshot(current)
        async for group in _from_store(self.store, self.environment, self.sent.version):
            yield self.change(group)


async def _from_store(
    store: SqlFlagStore, environment: str, after: int
) -> AsyncIterator[VersionChanges]:
    """Every streamed change after version `after`, read from the store."""
    while True:
        changes = await anyio.to_thread.run_sync(
            functools.partial(
                store.changes_since, after, environment=environment, limit=READ_LIMIT
            )
        )
        if not changes:
            return
        for group in group_changes(changes):
            yield group
        after = changes[-1].version
