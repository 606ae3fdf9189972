"""The fail-static cache: the last flags the server sent, kept on disk.

A restart while the server cannot be reached serves these flags instead of every
caller's default. The file is replaced atomically (a temporary file in the same
directory, flushed to disk, then renamed over the old one), so a crash mid-write
leaves the previous copy, never half a file. A file that cannot be read (damaged,
from another environment, another format) is ignored with one log line: the cache
may only ever make things better than no cache.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import tempfile
from pathlib import Path

from flagramp.core.errors import InvalidSnapshot
from flagramp.core.types import Json
from flagramp.sdk._documents import Snapshot, parse_snapshot

logger = logging.getLogger("flagramp.sdk")

#: Written into every cache file; a file without it is not ours.
FORMAT = "flagramp-sdk-cache"
FORMAT_VERSION = 1


def save_cache(path: Path, snapshot_document: dict[str, Json]) -> str | None:
    """Write the snapshot to `path` atomically; the reason when it could not."""
    document: dict[str, Json] = {"format": FORMAT, "format_version": FORMAT_VERSION}
    document.update(snapshot_document)
    text = json.dumps(document, separators=(",", ":"), ensure_ascii=False)
    directory = path.parent
    try:
        directory.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(
            prefix=f".{path.name}.", suffix=".tmp", dir=directory
        )
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                out.write(text)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise
        _sync_directory(directory)
    except OSError as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


def load_cache(path: Path, environment: str) -> Snapshot | None:
    """The snapshot cached at `path` for `environment`, or None (logged) when the
    file is missing, damaged or for another environment."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        logger.warning("flagramp: ignoring the flag cache %s: %s", path, exc)
        return None
    try:
        snapshot = _parse(text, str(path))
    except InvalidSnapshot as exc:
        logger.warning("flagramp: ignoring the flag cache: %s", exc)
        return None
    if snapshot.environment != environment:
        logger.warning(
            "flagramp: ignoring the flag cache %s: it holds environment %r, not %r",
            path,
            snapshot.environment,
            environment,
        )
        return None
    return snapshot


def _parse(text: str, source: str) -> Snapshot:
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise InvalidSnapshot(source, f"not JSON ({exc})") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise InvalidSnapshot(source, "not a flagramp SDK cache file")
    if document.get("format_version") != FORMAT_VERSION:
        raise InvalidSnapshot(
            source, f"cache format {document.get('format_version')!r} is not known"
        )
    return parse_snapshot(document, source)


def _sync_directory(directory: Path) -> None:
    # Rationale: the rename is durable only once the directory entry is on disk;
    # without this a power cut can leave the old file (never a broken one).
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
