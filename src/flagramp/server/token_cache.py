"""Tokens verified recently, for routes whose writes check them again.

Reading a token's row on every events request cost a thread hop and a query
each; the events writer checks every sender's token once per group before it
writes (`event_intake`), so the route may accept a token it verified a moment
ago. Only valid tokens are kept (a wrong one is read, counted and rate-limited
every time), under a hash of the token, for `ttl` seconds at most.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Collection

from flagramp.store.tokens import TokenRecord, TokenStore

#: Seconds a verified token is trusted before it is read again.
DEFAULT_TTL = 30.0
#: Tokens kept at most (the oldest go first).
DEFAULT_SIZE = 4096


class TokenCache:
    """Valid token records by token, each for `ttl` seconds."""

    def __init__(
        self,
        ttl: float = DEFAULT_TTL,
        size: int = DEFAULT_SIZE,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl, self.size, self.clock = ttl, size, clock
        self._kept: OrderedDict[bytes, tuple[float, TokenRecord]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, token: str) -> TokenRecord | None:
        """The record verified for `token` within `ttl`, else None."""
        key = _key(token)
        with self._lock:
            found = self._kept.get(key)
            if found is None:
                return None
            if self.clock() - found[0] > self.ttl:
                del self._kept[key]
                return None
            return found[1]

    def put(self, token: str, record: TokenRecord) -> None:
        """Remember that `token` was verified now, as `record`."""
        with self._lock:
            self._kept[_key(token)] = (self.clock(), record)
            self._kept.move_to_end(_key(token))
            while len(self._kept) > self.size:
                self._kept.popitem(last=False)


def _key(token: str) -> bytes:
    # A digest, so that no token's secret stays in a long-lived structure.
    return hashlib.sha256(token.encode("utf-8", "surrogateescape")).digest()


class UsableSenders:
    """The usable tokens among a group's senders, for the events writer: read
    (`TokenStore.unrevoked`) again only when the store's version moved.

    Issuing and revoking a token are units of work (each moves the version),
    so what was unrevoked at a version still is while the version stands;
    expiry is judged against the store's clock at every call. One version
    read per group instead of a token read."""

    def __init__(
        self, tokens: TokenStore, version: Callable[[], int], size: int = DEFAULT_SIZE
    ) -> None:
        self.tokens, self.version, self.size = tokens, version, size
        self._at: int | None = None
        self._unrevoked: dict[str, dt.datetime | None] = {}
        self._refused: set[str] = set()

    def __call__(self, token_ids: Collection[str]) -> set[str]:
        at = self.version()
        kept = len(self._unrevoked) + len(self._refused)
        if at != self._at or kept > self.size:
            self._at, self._unrevoked, self._refused = at, {}, set()
        missing = [
            i for i in token_ids if i not in self._unrevoked and i not in self._refused
        ]
        if missing:
            found = self.tokens.unrevoked(missing)
            self._unrevoked.update(found)
            self._refused.update(i for i in missing if i not in found)
        now = self.tokens.now()
        return {
            i
            for i in token_ids
            if i in self._unrevoked
            and ((expires := self._unrevoked[i]) is None or now < expires)
        }
