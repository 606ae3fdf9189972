"""Scheduled backups: daily at a local time, or once ("evening prior to
deployment – approximately 10 pm", seed 004), checked by the controller's tick.

A schedule is a row of `backup_schedules` with its next due time in UTC.
`due_backups(store, now)` lists the ones due; `run_due_backups` makes each
backup and moves the schedule on, past `now` (a controller that was down for
three days makes one backup, not three). Moving on is a compare-and-set on the
due time, so two controllers never both record one due time: the second finds
it moved, and its own backup is dropped. Creating, replacing, cancelling and
running a schedule are audited (`backup_schedule` rows).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import Connection, Row, delete, insert, select, update

from flagramp.core.errors import BackupError
from flagramp.core.identifiers import check_entity_key, check_environment, check_text
from flagramp.core.types import Json
from flagramp.store.backup_refs import SCHEDULE_KIND, BackupRef, iso
from flagramp.store.backup_tables import backup_schedules
from flagramp.store.backups import create_backup
from flagramp.store.connections import reading
from flagramp.store.environment_snapshots import snapshot_environment
from flagramp.store.port import DEFAULT_ENVIRONMENT, Author
from flagramp.store.sql_store import SqlFlagStore, SqlUnitOfWork

#: Seed 004's "approximately 10 pm".
EVENING = dt.time(22, 0)


@dataclass(frozen=True, slots=True)
class BackupSchedule:
    """When to back up what, and when it last ran."""

    name: str
    label: str
    #: None: a full backup (a file); else a snapshot of this environment.
    environment: str | None
    daily_at: dt.time | None
    timezone: str
    once_at: dt.datetime | None
    #: None: a one-off that has run.
    next_due: dt.datetime | None
    last_backup: str | None
    last_done: dt.datetime | None
    created_by: str


def evening_before(day: dt.date, timezone: str, at: dt.time = EVENING) -> dt.datetime:
    """`at` (10 pm) local time on the evening before `day`, in UTC."""
    return before_day(day, days_before=1, at=at, timezone=timezone)


def before_day(
    day: dt.date, *, days_before: int, at: dt.time, timezone: str
) -> dt.datetime:
    """`at` local time `days_before` days before `day`, in UTC: a plan's
    promotion `backup: {at, days_before, timezone}` for a step on `day`."""
    zone = _zone(timezone)
    local = dt.datetime.combine(day - dt.timedelta(days=days_before), at, zone)
    return local.astimezone(dt.UTC)


def next_daily(at: dt.time, timezone: str, after: dt.datetime) -> dt.datetime:
    """The first local `at` strictly after `after`, in UTC. On a day when `at`
    does not exist (clocks spring forward past it) it is read with the offset
    before the change, so it falls just after the gap."""
    zone = _zone(timezone)
    local_day = after.astimezone(zone).date()
    for offset in (0, 1, 2):
        candidate = dt.datetime.combine(local_day + dt.timedelta(days=offset), at, zone)
        if candidate.astimezone(dt.UTC) > after:
            return candidate.astimezone(dt.UTC)
    raise AssertionError("unreachable: a day later is always after")  # pragma: no cover


def schedule_backup(
    store: SqlFlagStore,
    name: str,
    *,
    label: str,
    author: Author,
    now: dt.datetime,
    daily_at: dt.time | None = None,
    once_at: dt.datetime | None = None,
    timezone: str = "UTC",
    environment: str | None = None,
) -> BackupSchedule:
    """Create or replace the schedule `name`: daily at `daily_at` in `timezone`,
    or once at `once_at` (aware). With `environment`, it takes snapshots."""
    with store.unit_of_work(author) as unit:
        return put_backup_schedule(
            unit,
            name,
            label=label,
            now=now,
            daily_at=daily_at,
            once_at=once_at,
            timezone=timezone,
            environment=environment,
        )


def put_backup_schedule(
    unit: SqlUnitOfWork,
    name: str,
    *,
    label: str,
    now: dt.datetime,
    daily_at: dt.time | None = None,
    once_at: dt.datetime | None = None,
    timezone: str = "UTC",
    environment: str | None = None,
) -> BackupSchedule:
    """`schedule_backup` inside `unit` (a promotion step's transition
    schedules its backup in the same unit of work)."""
    check_entity_key(name)
    check_text("label", label)
    if environment is not None:
        check_environment(environment)
    if (daily_at is None) == (once_at is None):
        raise BackupError("a backup schedule is daily or once, not both or neither")
    if once_at is not None and once_at.tzinfo is None:
        raise BackupError("a one-off backup time needs a time zone")
    _zone(timezone)
    next_due = once_at.astimezone(dt.UTC) if once_at else None
    if daily_at is not None:
        next_due = next_daily(daily_at, timezone, now)
    row = {
        "name": name,
        "label": label,
        "environment": environment,
        "daily_at": None if daily_at is None else daily_at.strftime("%H:%M"),
        "timezone": timezone,
        "once_at": None if once_at is None else iso(once_at),
        "next_due": None if next_due is None else iso(next_due),
        "last_backup": None,
        "last_done": None,
        "created_by": unit.author.who,
    }
    old = _row(unit.connection, name)
    unit.execute(delete(backup_schedules).where(backup_schedules.c.name == name))
    unit.execute(insert(backup_schedules).values(**row))
    unit.record(
        environment or DEFAULT_ENVIRONMENT,
        SCHEDULE_KIND,
        name,
        "create" if old is None else "update",
        None if old is None else _document(old._mapping),
        _document(row),
    )
    return _schedule(row)


def cancel_backup_schedule(store: SqlFlagStore, name: str, *, author: Author) -> None:
    """Remove the schedule `name`; raises BackupError if there is none."""
    with store.unit_of_work(author) as unit:
        old = _row(unit.connection, name)
        if old is None:
            raise BackupError(f"no backup schedule {name!r}")
        unit.execute(delete(backup_schedules).where(backup_schedules.c.name == name))
        unit.record(
            old.environment or DEFAULT_ENVIRONMENT,
            SCHEDULE_KIND,
            name,
            "delete",
            _document(old._mapping),
            None,
        )


def list_backup_schedules(store: SqlFlagStore) -> list[BackupSchedule]:
    """Every schedule, by name."""
    with reading(store.engine, "backup schedules") as conn:
        rows = conn.execute(select(backup_schedules).order_by(backup_schedules.c.name))
        return [_schedule(row._mapping) for row in rows]


def due_backups(store: SqlFlagStore, now: dt.datetime) -> list[BackupSchedule]:
    """The schedules due at `now`, the longest overdue first."""
    due = [
        s
        for s in list_backup_schedules(store)
        if s.next_due is not None and s.next_due <= now
    ]
    return sorted(due, key=lambda s: (s.next_due, s.name))


def run_due_backups(
    store: SqlFlagStore,
    now: dt.datetime,
    *,
    author: Author,
    directory: Path | None = None,
) -> list[BackupRef]:
    """Make every due backup and move its schedule on; returns the backups made
    (a schedule another controller ran meanwhile is skipped)."""
    made: list[BackupRef] = []
    for schedule in due_backups(store, now):
        if schedule.environment is None:
            ref = create_backup(
                store, label=schedule.label, author=author, directory=directory
            )
            try:
                with store.unit_of_work(author) as unit:
                    _move_on(unit, schedule, ref, now)
            except _RanElsewhere:
                assert ref.path is not None
                ref.path.unlink(missing_ok=True)
                continue
            made.append(ref)
            continue
        try:
            with store.unit_of_work(author) as unit:
                ref = snapshot_environment(
                    unit, schedule.environment, schedule.label, now=now
                )
                _move_on(unit, schedule, ref, now)
        except _RanElsewhere:
            continue
        made.append(ref)
    return made


def take_scheduled_snapshot(unit: SqlUnitOfWork, name: str, now: dt.datetime) -> str:
    """In `unit`: take the snapshot the environment schedule `name` is for and
    move the schedule on; returns the backup's id. A schedule that already ran
    (`run_due_backups` got there first) gives its last backup's id; raises
    BackupError for a schedule that does not exist or takes full backups."""
    row = _row(unit.connection, name)
    if row is None:
        raise BackupError(f"no backup schedule {name!r}")
    schedule = _schedule(row._mapping)
    if schedule.environment is None:
        raise BackupError(f"backup schedule {name!r} takes full backups")
    if schedule.next_due is None and schedule.last_backup is not None:
        return schedule.last_backup
    if schedule.next_due is None:
        raise BackupError(f"backup schedule {name!r} is not due")
    ref = snapshot_environment(unit, schedule.environment, schedule.label, now=now)
    _move_on(unit, schedule, ref, now)
    return ref.id


class _RanElsewhere(Exception):
    """Another controller moved the schedule on first: roll this unit back."""


def _move_on(
    unit: SqlUnitOfWork, schedule: BackupSchedule, ref: BackupRef, now: dt.datetime
) -> None:
    assert schedule.next_due is not None
    following = None
    if schedule.daily_at is not None:
        following = next_daily(schedule.daily_at, schedule.timezone, now)
    t = backup_schedules.c
    moved = unit.execute(
        update(backup_schedules)
        .where(t.name == schedule.name, t.next_due == iso(schedule.next_due))
        .values(
            next_due=None if following is None else iso(following),
            last_backup=ref.id,
            last_done=iso(now),
        )
    )
    if moved.rowcount != 1:
        raise _RanElsewhere
    unit.record(
        schedule.environment or DEFAULT_ENVIRONMENT,
        SCHEDULE_KIND,
        schedule.name,
        "run",
        {"next_due": iso(schedule.next_due)},
        {
            "next_due": None if following is None else iso(following),
            "backup": ref.id,
            "kind": ref.kind.value,
        },
    )


def _zone(timezone: str) -> ZoneInfo:
    try:
        return ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise BackupError(
            f"unknown time zone {timezone!r} (write one like America/New_York)"
        ) from exc


def _row(conn: Connection, name: str) -> Row[Any] | None:
    return conn.execute(
        select(backup_schedules).where(backup_schedules.c.name == name)
    ).first()


def _document(row: Any) -> dict[str, Json]:
    keep = ("label", "environment", "daily_at", "timezone", "once_at", "next_due")
    return {key: row[key] for key in keep}


def _schedule(row: Any) -> BackupSchedule:
    def moment(value: str | None) -> dt.datetime | None:
        return None if value is None else dt.datetime.fromisoformat(value)

    daily = row["daily_at"]
    return BackupSchedule(
        name=row["name"],
        label=row["label"],
        environment=row["environment"],
        daily_at=None if daily is None else dt.time.fromisoformat(daily),
        timezone=row["timezone"],
        once_at=moment(row["once_at"]),
        next_due=moment(row["next_due"]),
        last_backup=row["last_backup"],
        last_done=moment(row["last_done"]),
        created_by=row["created_by"],
    )
