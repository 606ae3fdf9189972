"""An environment's flags and segments at one store version, read in one snapshot.

The snapshot is what SDKs bootstrap from (`GET /environments/{env}/snapshot`)
and the first event of every stream. Its version is the store's, read in the
same database snapshot as the flags, so "everything up to version v" is exact:
a stream that then sends every change after v misses nothing. So is the store's
epoch (`store/epochs.py`), which the ETag carries, so a restore changes it. The
rendered body is kept per environment for as long as the store position stays
the same, so a thousand polling SDKs cost one read per change, not one per poll.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from flagramp.core.errors import EnvironmentNotFound, StoreError
from flagramp.server.positions import position_etag
from flagramp.store import SqlFlagStore
from flagramp.store.connections import short_reason
from flagramp.store.database import snapshot
from flagramp.store.documents import flag_document, segment_document
from flagramp.store.epochs import INITIAL_EPOCH, StorePosition, read_position
from flagramp.store.sql_reads import SqlReader


@dataclass(frozen=True, slots=True)
class EnvironmentSnapshot:
    """One environment at one store version, with its rendered JSON body."""

    environment: str
    version: int
    body: bytes
    epoch: str = INITIAL_EPOCH

    @property
    def position(self) -> StorePosition:
        """The store position this snapshot was read at."""
        return StorePosition(self.version, self.epoch)

    @property
    def etag(self) -> str:
        """The strong ETag of this position: `"42"` (`"42.<epoch>"` once restored)."""
        return position_etag(self.position)


def render_snapshot(
    environment: str, version: int, flags: list[Any], segments: list[Any]
) -> bytes:
    """The snapshot document of wire.md, as compact UTF-8 JSON."""
    document = {
        "environment": environment,
        "version": version,
        "flags": flags,
        "segments": segments,
    }
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode()


def read_snapshot(store: SqlFlagStore, environment: str) -> EnvironmentSnapshot:
    """The environment's flags and segments and the store version, all from one
    database snapshot. Raises EnvironmentNotFound, or StoreError."""
    try:
        with snapshot(store.engine) as conn:
            reader = SqlReader(conn)
            position = read_position(conn)
            if environment not in reader.environments():
                raise EnvironmentNotFound(environment)
            flags = [flag_document(f) for f in reader.list_flags(environment)]
            segments = [
                segment_document(s) for s in reader.segments(environment).values()
            ]
    except SQLAlchemyError as exc:
        raise StoreError(f"the flags could not be read: {short_reason(exc)}") from exc
    body = render_snapshot(environment, position.version, flags, segments)
    return EnvironmentSnapshot(environment, position.version, body, position.epoch)


class SnapshotCache:
    """The newest snapshot of each environment, reused while the position holds."""

    def __init__(self, store: SqlFlagStore) -> None:
        self.store = store
        self._latest: dict[str, EnvironmentSnapshot] = {}
        self._lock = threading.Lock()

    def get(
        self, environment: str, position: StorePosition | None = None
    ) -> EnvironmentSnapshot:
        """The snapshot at `position` if it is cached (the caller read the store
        position just now), else a fresh read."""
        with self._lock:
            cached = self._latest.get(environment)
        if cached is not None and position is not None and cached.position == position:
            return cached
        fresh = read_snapshot(self.store, environment)
        with self._lock:
            kept = self._latest.get(environment)
            # Versions only grow, across restores too (store/backups.py), so
            # the higher one is the newer even when the epochs differ.
            if kept is None or kept.version <= fresh.version:
                self._latest[environment] = fresh
        return fresh
