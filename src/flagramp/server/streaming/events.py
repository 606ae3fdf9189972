"""The SSE events of `/api/v1/stream` (wire.md): `snapshot`, then `change`s.

After the first event (a snapshot, or, when the client resumes with
`Last-Event-ID`, every change after that version), the stream sends one
`change` event per store version that changed the environment's flags or
segments, with the version as its id. The order is the feed's; no version is
sent twice, none is skipped.
"""

from __future__ import annotations

import functools
import json
from collections.abc import AsyncIterator, Callable

import anyio.to_thread
from sse_starlette import ServerSentEvent

from flagramp.core.types import Json
from flagramp.server.snapshots import EnvironmentSnapshot, SnapshotCache
from flagramp.server.streaming.hub import (
    READ_LIMIT,
    ChangeHub,
    VersionChanges,
    group_changes,
)
from flagramp.store import Change, SqlFlagStore

#: A client further behind than this many versions gets a fresh snapshot: it
#: is smaller than the changes it missed.
MAX_CATCH_UP_VERSIONS = 10_000


def parse_last_event_id(text: str | None) -> int | None:
    """The version a reconnecting client saw last, or None (absent, malformed)."""
    if text is None:
        return None
    text = text.strip()
    if not text.isdigit() or len(text) > 18:
        return None
    return int(text)


def change_document(change: Change) -> dict[str, Json]:
    """One change as the stream sends it."""
    return {
        "kind": change.kind,
        "key": change.key,
        "action": change.action,
        "after": change.after,
    }


def change_event(group: VersionChanges) -> ServerSentEvent:
    """A `change` event: one store version's changes to the environment."""
    data = {
        "version": group.version,
        "changes": [change_document(c) for c in group.changes],
    }
    return ServerSentEvent(
        data=json.dumps(data, separators=(",", ":"), ensure_ascii=False),
        event="change",
        id=str(group.version),
    )


def snapshot_event(snapshot: EnvironmentSnapshot) -> ServerSentEvent:
    """A `snapshot` event: the whole environment at one version."""
    return ServerSentEvent(
        data=snapshot.body.decode(), event="snapshot", id=str(snapshot.version)
    )


async def stream_events(
    *,
    hub: ChangeHub,
    store: SqlFlagStore,
    snapshots: SnapshotCache,
    environment: str,
    last_event_id: int | None,
    on_event: Callable[[str], None] = lambda kind: None,
) -> AsyncIterator[ServerSentEvent]:
    """The events of one client's stream, for as long as it listens."""
    # Subscribe first: whatever the hub reads from now on is queued, so the
    # catch-up below and the queue overlap, and the overlap is skipped by version.
    subscriber = hub.subscribe(environment)
    try:
        current = await anyio.to_thread.run_sync(store.version)
        resumable = (
            last_event_id is not None
            and last_event_id <= current
            and current - last_event_id <= MAX_CATCH_UP_VERSIONS
        )
        if resumable:
            assert last_event_id is not None
            sent = last_event_id
        else:
            snapshot = await anyio.to_thread.run_sync(
                snapshots.get, environment, current
            )
            on_event("snapshot")
            yield snapshot_event(snapshot)
            sent = snapshot.version
        async for group in _from_store(store, environment, sent):
            on_event("change")
            yield change_event(group)
            sent = group.version
        while True:
            if subscriber.overflowed:
                subscriber.drain()
                async for group in _from_store(store, environment, sent):
                    on_event("change")
                    yield change_event(group)
                    sent = group.version
                continue
            group = await subscriber.queue.get()
            if group.version <= sent:
                continue
            on_event("change")
            yield change_event(group)
            sent = group.version
    finally:
        hub.unsubscribe(subscriber)


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
