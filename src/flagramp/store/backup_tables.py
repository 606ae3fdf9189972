"""Tables for environment snapshots and backup schedules.

Defined on the store's one `metadata`; created by migration 0005_backups. Full
backups are files (`store/backups.py`), kept apart from the database they save;
these tables hold what must live beside the flags it describes: a snapshot the
promotion engine restores on No-Go, and the schedules the controller checks.
Timestamps are ISO 8601 text in UTC, as in the other tables.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, Integer, String, Table

from flagramp.core.identifiers import AUTHOR_MAX, ENTITY_KEY_MAX, ENVIRONMENT_MAX
from flagramp.store.tables import Document, Name, metadata

#: The longest id `store/backup_ids.py` makes.
BACKUP_ID_MAX = 64

#: One environment's flags and segments as they were: `document` is canonical
#: JSON, `sha256` its digest, which the snapshot's audit row records too, so an
#: edit of the stored document shows before it is written back.
environment_snapshots = Table(
    "environment_snapshots",
    metadata,
    Column("id", Name(BACKUP_ID_MAX), primary_key=True),
    Column("environment", Name(ENVIRONMENT_MAX), nullable=False),
    Column("label", Document, nullable=False),
    Column("author", Name(AUTHOR_MAX), nullable=False),
    Column("taken_at", String(40), nullable=False),
    Column("store_version", BigInteger, nullable=False),
    Column("flags", Integer, nullable=False),
    Column("segments", Integer, nullable=False),
    Column("document", Document, nullable=False),
    Column("sha256", String(64), nullable=False),
    Index("ix_environment_snapshots_environment", "environment", "taken_at"),
)

#: When to back up: daily at a local time, or once at an instant (the evening
#: before a deployment). `environment` NULL is a full backup to a file, else a
#: snapshot of that environment. `next_due` NULL: a one-off that has run.
backup_schedules = Table(
    "backup_schedules",
    metadata,
    Column("name", Name(ENTITY_KEY_MAX), primary_key=True),
    Column("label", Document, nullable=False),
    Column("environment", Name(ENVIRONMENT_MAX), nullable=True),
    Column("daily_at", String(5), nullable=True),
    Column("timezone", String(64), nullable=False),
    Column("once_at", String(40), nullable=True),
    Column("next_due", String(40), nullable=True),
    Column("last_backup", Name(BACKUP_ID_MAX), nullable=True),
    Column("last_done", String(40), nullable=True),
    Column("created_by", Name(AUTHOR_MAX), nullable=False),
)
