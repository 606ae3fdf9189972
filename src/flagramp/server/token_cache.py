"""Tokens verified recently, for routes whose writes check them again.

Reading a token's row on every events request cost a thread hop and a query
each; the events writer checks every sender's token once per group before it
writes (`event_intake`), so the route may accept a token it verified a moment
ago. Only valid tokens are kept (a wrong one is read, counted and rate-limited
every time), under a hash of the token, for `ttl` seconds at most.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from flagramp.store.tokens import TokenRecord

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
