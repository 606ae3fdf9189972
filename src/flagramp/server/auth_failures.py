"""Failed authentications, limited per client address.

After `limit` failures within `window` seconds, an address is refused (429)
until its oldest failure leaves the window, valid token or not: a guesser
learns nothing more. Memory is bounded: at most `max_clients` addresses are
tracked, the longest-quiet forgotten first.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable

#: Addresses tracked at most.
MAX_CLIENTS = 10_000


class FailureLimiter:
    """Counts failures per address in a sliding window."""

    def __init__(
        self,
        limit: int,
        window: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_clients: int = MAX_CLIENTS,
    ) -> None:
        self.limit = limit
        self.window = window
        self.clock = clock
        self.max_clients = max_clients
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def retry_after(self, client: str) -> float | None:
        """Seconds until `client` may try again, or None if it may now."""
        with self._lock:
            times = self._recent(client, self.clock())
            if times is None or len(times) < self.limit:
                return None
            return max(times[0] + self.window - self.clock(), 0.001)

    def fail(self, client: str) -> None:
        """Count one failure for `client`."""
        now = self.clock()
        with self._lock:
            times = self._recent(client, now)
            if times is None:
                times = deque(maxlen=self.limit)
                self._failures[client] = times
                while len(self._failures) > self.max_clients:
                    self._failures.popitem(last=False)
            times.append(now)
            self._failures.move_to_end(client)

    def _recent(self, client: str, now: float) -> deque[float] | None:
        times = self._failures.get(client)
        if times is None:
            return None
        while times and times[0] <= now - self.window:
            times.popleft()
        if not times:
            del self._failures[client]
            return None
        return times
