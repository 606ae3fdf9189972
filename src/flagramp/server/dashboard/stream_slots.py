"""How many guard streams one token may hold open in this process.

Each open guard stream asks the store for the run's log every
`stream_poll_seconds` on a worker thread; without a bound one viewer's session
(or a script replaying its cookie) could open hundreds and keep the thread
pool and the database busy for everyone. A person watching runs needs a few:
one per open run page.
"""

from __future__ import annotations

import threading
from collections import Counter

#: Open guard streams per token per server process (a replica counts its own).
STREAMS_PER_TOKEN = 8


class Slot:
    """One open stream's place; `release` gives it back (once, however often
    it is called: the stream's end and the response's end both call it)."""

    def __init__(self, slots: StreamSlots, token_id: str) -> None:
        self._slots = slots
        self._token_id = token_id
        self._released = False

    def release(self) -> None:
        """Give the place back (again: nothing)."""
        if not self._released:
            self._released = True
            self._slots._give_back(self._token_id)


class StreamSlots:
    """Counts the open streams of each token; thread-safe."""

    def __init__(self, limit: int = STREAMS_PER_TOKEN) -> None:
        self.limit = limit
        self._open: Counter[str] = Counter()
        self._lock = threading.Lock()

    def take(self, token_id: str) -> Slot | None:
        """A slot of `token_id`'s; None when all are taken."""
        with self._lock:
            if self._open[token_id] >= self.limit:
                return None
            self._open[token_id] += 1
        return Slot(self, token_id)

    def open(self, token_id: str) -> int:
        """How many streams `token_id` holds open."""
        with self._lock:
            return self._open[token_id]

    def _give_back(self, token_id: str) -> None:
        with self._lock:
            self._open[token_id] -= 1
            if self._open[token_id] <= 0:
                del self._open[token_id]
