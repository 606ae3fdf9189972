"""Reading a file a user names, within a size limit that holds for any kind of file."""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class Read:
    """What `read_limited` got: at most limit + 1 bytes, and the file's size if it
    has one (a regular file; pipes and devices do not)."""

    data: bytes
    size: int | None

    def is_over(self, limit: int) -> bool:
        """True if the file holds more than `limit` bytes."""
        return (self.size or 0) > limit or len(self.data) > limit


def read_limited(path: Path, limit: int) -> Read:
    """Read at most `limit + 1` bytes of `path`; raises OSError.

    Rationale: a size from stat() is 0 for /dev/zero and pipes, which never end;
    reading one byte past the limit tells "too large" apart for every kind of file
    without holding more than that in memory.
    """
    with path.open("rb") as handle:
        info = os.fstat(handle.fileno())
        size = info.st_size if stat.S_ISREG(info.st_mode) else None
        if size is not None and size > limit:
            return Read(b"", size)  # never read a huge file just to refuse it
        return Read(handle.read(limit + 1), size)
