"""What names a backup: full backups (files) and environment snapshots alike."""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

#: Audit entity kinds the backups write (`record(…, kind, id, action, …)`).
BACKUP_KIND = "backup"
SNAPSHOT_KIND = "snapshot"
SCHEDULE_KIND = "backup_schedule"


class BackupKind(StrEnum):
    """A whole store in a file, or one environment's flags and segments in the
    store."""

    FULL = "full"
    ENVIRONMENT = "environment"


@dataclass(frozen=True, slots=True)
class BackupRef:
    """One backup: what it is, who made it and when, and where it is."""

    id: str
    kind: BackupKind
    label: str
    author: str
    created_at: dt.datetime
    #: The store version whose state it holds.
    store_version: int
    #: Full backups: rows in every table; snapshots: flags and segments.
    rows: int
    #: Full backups: the manifest's SHA-256; snapshots: the document's.
    checksum: str
    environment: str | None = None
    #: Full backups: the file.
    path: Path | None = None
    #: Full backups: the audit head it holds (a snapshot does not hold the log).
    audit_head: str | None = None


def new_backup_id(now: dt.datetime) -> str:
    """An id that sorts by time: `20261201T220000Z-3fa29c1b`."""
    stamp = now.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    return f"{stamp}-{secrets.token_hex(4)}"


def iso(moment: dt.datetime) -> str:
    """A timestamp as every flagramp table keeps it (UTC, microseconds)."""
    return moment.astimezone(dt.UTC).isoformat(timespec="microseconds")
