"""Files without a size: a FIFO fed by a writer that would go on for ever."""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator
from pathlib import Path

CHUNK = b"\0" * 65_536


@contextlib.contextmanager
def endless_fifo(path: Path, limit: int = 1 << 34) -> Iterator[Path]:
    """A FIFO at `path` whose writer sends zeros until the reader goes away (or
    `limit` bytes, 16 GiB by default: far more than any reader may take)."""
    os.mkfifo(path)
    done = threading.Event()

    def feed() -> None:
        sent = 0
        with contextlib.suppress(BrokenPipeError), path.open("wb") as pipe:
            while sent < limit and not done.is_set():
                pipe.write(CHUNK)
                sent += len(CHUNK)

    writer = threading.Thread(target=feed, daemon=True)
    writer.start()
    try:
        yield path
    finally:
        done.set()
        # A writer still waiting for a reader: open and close the read end so
        # that it wakes up, sees the pipe broken, and ends.
        with contextlib.suppress(OSError):
            os.close(os.open(path, os.O_RDONLY | os.O_NONBLOCK))
        writer.join(timeout=5)
