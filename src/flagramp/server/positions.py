"""Store positions on the wire: the SSE event id and the snapshot's ETag.

A position is written `<version>` while the store has its initial epoch (as
before epochs existed, so older clients keep working) and `<version>.<epoch>`
after a restore gave it a new one (`store/epochs.py`). Stream ids are the
tag, the snapshot's strong ETag is the tag in quotes; a client sends back
what it received, and a tag of another epoch means "reload everything".
"""

from __future__ import annotations

import re

from flagramp.store.epochs import INITIAL_EPOCH, StorePosition

#: At most 18 digits (a BIGINT fits), then optionally `.` and a lowercase hex epoch.
_TAG = re.compile(r"(?P<version>[0-9]{1,18})(?:\.(?P<epoch>[0-9a-f]{1,32}))?")


def position_tag(position: StorePosition) -> str:
    """`42`, or `42.3fa29c1b07d4` in a restored store's epoch."""
    if position.epoch == INITIAL_EPOCH:
        return str(position.version)
    return f"{position.version}.{position.epoch}"


def position_etag(position: StorePosition) -> str:
    """The strong ETag of a snapshot at `position`: `"42"`, `"42.3fa29c1b07d4"`."""
    return f'"{position_tag(position)}"'


def parse_position_tag(text: str | None) -> StorePosition | None:
    """The position a client sent back (`Last-Event-ID`), or None (absent,
    malformed: the client then gets a fresh snapshot)."""
    if text is None:
        return None
    match = _TAG.fullmatch(text.strip())
    if match is None:
        return None
    return StorePosition(int(match["version"]), match["epoch"] or INITIAL_EPOCH)
