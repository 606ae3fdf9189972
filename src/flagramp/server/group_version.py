"""The store's version, read once for a whole group of the events writer.

The writer's token check (`token_cache.UsableSenders`) and the runs' routes
(`event_sinks.VersionedRoutes`) each keep what they read for a store version
and ask for the version on every group: two or more reads of one row per
transaction, a sixth of the writer's time when a run watches the events.
Inside `GroupVersion.held()` the first ask reads and the others on that thread
get the same number. Each consumer still reads its own data after the version,
so neither keeps older data under a newer version.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager


class GroupVersion:
    """`read` (the store's version) called at most once per `held()` block on
    the thread that holds it; on every other thread, and outside, each call
    reads."""

    def __init__(self, read: Callable[[], int]) -> None:
        self.read = read
        self._local = threading.local()

    def __call__(self) -> int:
        held: list[int] | None = getattr(self._local, "held", None)
        if held is None:
            return self.read()
        if not held:
            held.append(self.read())
        return held[0]

    @contextmanager
    def held(self) -> Iterator[None]:
        """Within the block, this thread's calls share one read."""
        outer = getattr(self._local, "held", None)
        self._local.held = []
        try:
            yield
        finally:
            self._local.held = outer
