"""Retention of event batch keys: how long they are kept, and their deletion.

Every batch `POST /api/v1/events` takes leaves its key in `event_batches`
(`store.event_batches`), so that a batch sent again counts once. At 2,000
requests a second that is some 7 M keys an hour: kept forever, the table grows
without bound. The controller's tick (`Controller.tick`, also in `flagramp
serve --controller`) therefore deletes the keys older than the retention
period, in bounded chunks (each its own short transaction, so the requests
that claim keys meanwhile wait at most for one chunk), and at most
`MAX_CHUNKS` of them per tick: a backlog is worked off over several ticks.

A key's age is counted from its `forget_after` (the time after which a
redelivery of its batch would be too old to be accepted: 65 minutes after the
batch came), so a key lives the retention period plus about an hour. A batch
retried after its key was deleted is counted again.

The period is `FLAGRAMP_BATCH_KEY_RETENTION_DAYS` (a number of days, fractions
allowed; default 7).
"""

from __future__ import annotations

import datetime as dt
import math
import os
from collections.abc import Mapping

from flagramp.core.errors import EngineError
from flagramp.store.event_batches import EventBatchKeys

__all__ = [
    "CHUNK",
    "DEFAULT_RETENTION",
    "MAX_CHUNKS",
    "RETENTION_ENV",
    "expire_batch_keys",
    "retention_from_env",
]

#: How long a batch key is kept past its `forget_after` by default.
DEFAULT_RETENTION = dt.timedelta(days=7)
RETENTION_ENV = "FLAGRAMP_BATCH_KEY_RETENTION_DAYS"
#: Keys deleted per transaction.
CHUNK = 10_000
#: Chunks per tick: 500,000 keys a tick, about four times what 2,000 requests a
#: second leave in a minute, so one controller keeps up and works off a backlog.
MAX_CHUNKS = 50


def retention_from_env(environ: Mapping[str, str] | None = None) -> dt.timedelta:
    """The retention period `FLAGRAMP_BATCH_KEY_RETENTION_DAYS` says (default
    7 days). Raises EngineError for anything but a positive number of days."""
    env = os.environ if environ is None else environ
    text = env.get(RETENTION_ENV, "").strip()
    if not text:
        return DEFAULT_RETENTION
    try:
        days = float(text)
    except ValueError:
        days = math.nan
    if not math.isfinite(days) or days <= 0 or days > 36_500:
        raise EngineError(
            f"{RETENTION_ENV} must be a positive number of days, not {text!r}"
        )
    return dt.timedelta(days=days)


def expire_batch_keys(
    keys: EventBatchKeys,
    now: dt.datetime,
    retention: dt.timedelta,
    *,
    chunk: int = CHUNK,
    max_chunks: int = MAX_CHUNKS,
) -> int:
    """Delete the keys whose `forget_after` is more than `retention` before
    `now`, `chunk` at a time, at most `max_chunks` chunks. Returns how many.
    Raises StoreError when a chunk fails (the chunks before it stay deleted)."""
    before = now - retention
    dropped = 0
    for _ in range(max_chunks):
        done = keys.expire(before, limit=chunk)
        dropped += done
        if done < chunk:
            break
    return dropped
