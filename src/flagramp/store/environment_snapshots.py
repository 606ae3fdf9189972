"""Environment snapshots: one environment's flags and segments, taken before a
change (a promotion step) and written back on No-Go.

A snapshot is a row of `environment_snapshots` plus an audit row (`snapshot`,
`create`) recording its SHA-256, in the unit of work that takes it. Writing it
back is not a restore of the database: it changes the environment's flags and
segments, through the same unit of work as any change, until they equal the
snapshot, so every change is a new audit row (reason: the restore) and the
chain keeps the history in between. A last audit row (`snapshot`, `restore`)
says which snapshot was written back and how much changed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Row, insert, select

from flagramp.core.errors import BackupDamaged, SnapshotNotFound
from flagramp.core.flags import Flag, Segment
from flagramp.core.identifiers import check_environment, check_text
from flagramp.core.types import Json
from flagramp.store.backup_refs import (
    SNAPSHOT_KIND,
    BackupKind,
    BackupRef,
    iso,
    new_backup_id,
)
from flagramp.store.backup_tables import environment_snapshots
from flagramp.store.documents import (
    canonical,
    flag_document,
    flag_from_document,
    segment_document,
    segment_from_document,
)
from flagramp.store.port import FlagChange
from flagramp.store.sql_store import SqlUnitOfWork
from flagramp.store.tables import audit_log


@dataclass(frozen=True, slots=True)
class EnvironmentSnapshot:
    """A snapshot's reference and what it holds."""

    ref: BackupRef
    flags: tuple[Flag, ...]
    segments: tuple[Segment, ...]


@dataclass(frozen=True, slots=True)
class EnvironmentRestore:
    """What writing a snapshot back changed."""

    snapshot: BackupRef
    flags_changed: int
    segments_changed: int


def snapshot_environment(
    unit: SqlUnitOfWork, environment: str, label: str, *, now: dt.datetime
) -> BackupRef:
    """Take a snapshot of `environment` as `unit` sees it, in `unit`."""
    check_environment(environment)
    check_text("label", label)
    flags = unit.list_flags(environment)
    segments = [s for _, s in sorted(unit.segments(environment).items())]
    document = canonical(
        {
            "environment": environment,
            "flags": [flag_document(f) for f in flags],
            "segments": [segment_document(s) for s in segments],
        }
    )
    digest = hashlib.sha256(document.encode()).hexdigest()
    ref = BackupRef(
        id=new_backup_id(now),
        kind=BackupKind.ENVIRONMENT,
        label=label,
        author=unit.author.who,
        created_at=now,
        store_version=unit.version(),
        rows=len(flags) + len(segments),
        checksum=digest,
        environment=environment,
    )
    unit.execute(
        insert(environment_snapshots).values(
            id=ref.id,
            environment=environment,
            label=label,
            author=ref.author,
            taken_at=iso(now),
            store_version=ref.store_version,
            flags=len(flags),
            segments=len(segments),
            document=document,
            sha256=digest,
        )
    )
    summary: dict[str, Json] = {
        "label": label,
        "sha256": digest,
        "flags": len(flags),
        "segments": len(segments),
        "store_version": ref.store_version,
    }
    unit.record(environment, SNAPSHOT_KIND, ref.id, "create", None, summary)
    return ref


def write_back_snapshot(unit: SqlUnitOfWork, snapshot_id: str) -> EnvironmentRestore:
    """Write a snapshot back, in `unit`: its environment's flags and segments end
    equal to the snapshot, each change audited."""
    snapshot = read_snapshot(unit.connection, snapshot_id)
    environment = snapshot.ref.environment
    assert environment is not None
    version = unit.version()
    current = {f.key: f for f in unit.list_flags(environment)}
    current_segments = unit.segments(environment)
    kept = {s.name for s in snapshot.segments}
    segments_changed = 0
    # Segments first: a flag may be limited only to a segment that exists.
    for segment in snapshot.segments:
        if current_segments.get(segment.name) != segment:
            unit.put_segment(segment, environment)
            segments_changed += 1
    flags_changed = 0
    wanted = {f.key for f in snapshot.flags}
    for flag in snapshot.flags:
        before = current.get(flag.key)
        if before is None:
            unit.create_flag(flag, environment)
        elif before != flag:
            unit.change_flag(flag.key, _becomes(flag), environment, "restore")
        else:
            continue
        flags_changed += 1
    for key in sorted(set(current) - wanted):
        unit.delete_flag(key, environment)
        flags_changed += 1
    # Segments last: none is in use once every flag is as in the snapshot.
    for name in sorted(set(current_segments) - kept):
        unit.delete_segment(name, environment)
        segments_changed += 1
    unit.record(
        environment,
        SNAPSHOT_KIND,
        snapshot.ref.id,
        "restore",
        {"store_version": version},
        {
            "label": snapshot.ref.label,
            "sha256": snapshot.ref.checksum,
            "flags_changed": flags_changed,
            "segments_changed": segments_changed,
        },
    )
    return EnvironmentRestore(snapshot.ref, flags_changed, segments_changed)


def _becomes(flag: Flag) -> FlagChange:
    def change(_: Flag) -> Flag:
        return flag

    return change


def read_snapshot(conn: Connection, snapshot_id: str) -> EnvironmentSnapshot:
    """A snapshot and what it holds; raises SnapshotNotFound, or BackupDamaged if
    its document is not what its audit row recorded."""
    row = conn.execute(
        select(environment_snapshots).where(environment_snapshots.c.id == snapshot_id)
    ).first()
    if row is None:
        raise SnapshotNotFound(snapshot_id)
    where = f"snapshot {snapshot_id}"
    digest = hashlib.sha256(str(row.document).encode()).hexdigest()
    recorded = _recorded_digest(conn, snapshot_id)
    if digest != row.sha256 or digest != recorded:
        raise BackupDamaged(
            where,
            "its document was changed after it was taken (its SHA-256 "
            "differs from the one its audit row recorded)",
        )
    try:
        document = json.loads(row.document)
        flags = tuple(flag_from_document(d) for d in document["flags"])
        segments = tuple(segment_from_document(d) for d in document["segments"])
    except (ValueError, KeyError, TypeError) as exc:
        raise BackupDamaged(where, "its document cannot be read") from exc
    return EnvironmentSnapshot(_ref(row), flags, segments)


def list_snapshots(conn: Connection, environment: str | None = None) -> list[BackupRef]:
    """Snapshots, oldest first; of one environment if given."""
    t = environment_snapshots.c
    query = select(*(c for c in environment_snapshots.c if c.name != "document"))
    if environment is not None:
        query = query.where(t.environment == environment)
    return [_ref(row) for row in conn.execute(query.order_by(t.taken_at, t.id))]


def _recorded_digest(conn: Connection, snapshot_id: str) -> str | None:
    t = audit_log.c
    after = conn.execute(
        select(t.after).where(
            t.entity_kind == SNAPSHOT_KIND,
            t.entity_key == snapshot_id,
            t.action == "create",
        )
    ).scalar()
    try:
        recorded = json.loads(after)["sha256"] if isinstance(after, str) else None
    except (ValueError, KeyError, TypeError):
        return None
    return recorded if isinstance(recorded, str) else None


def _ref(row: Row[Any]) -> BackupRef:
    return BackupRef(
        id=row.id,
        kind=BackupKind.ENVIRONMENT,
        label=row.label,
        author=row.author,
        created_at=dt.datetime.fromisoformat(row.taken_at),
        store_version=row.store_version,
        rows=row.flags + row.segments,
        checksum=row.sha256,
        environment=row.environment,
    )
