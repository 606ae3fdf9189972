"""`flagramp backup …`: the whole store to a file and back, environment
snapshots, and scheduled backups. Each command calls one store function."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import typer
from rich.table import Table

from flagramp.cli.commands import App
from flagramp.cli.options import JsonOption, WhoOption, WhyOption, author, open_store
from flagramp.cli.output import (
    console,
    emit_json,
    err_console,
    fail,
    styled,
    user_errors,
)
from flagramp.cli.text import count
from flagramp.store import (
    BackupRef,
    backup_directory,
    cancel_backup_schedule,
    create_backup,
    database_url,
    environment_snapshots,
    evening_before,
    list_backup_schedules,
    list_backups,
    restore_backup,
    restore_environment,
    run_due_backups,
    schedule_backup,
)

backup_app = App(help="Backups: the whole store to a file, and environment snapshots.")

DirOption = Annotated[
    Path | None,
    typer.Option(
        "--dir",
        envvar="FLAGRAMP_BACKUP_DIR",
        metavar="DIR",
        help="Backup directory (default: next to a SQLite file, else "
        "~/.local/share/flagramp/backups).",
    ),
]
SnapshotEnv = Annotated[
    str | None,
    typer.Option(
        "--env",
        "-e",
        metavar="ENV",
        help="Snapshot this environment's flags and segments instead (kept in "
        "the store).",
    ),
]
LabelOption = Annotated[
    str, typer.Option("--label", metavar="TEXT", help="What the backup is for.")
]


def _directory(directory: Path | None) -> Path:
    return directory or backup_directory(database_url())


@backup_app.command("create")
def create(
    out: Annotated[
        Path | None, typer.Option("--out", metavar="FILE", help="Write to this file.")
    ] = None,
    label: LabelOption = "manual backup",
    env: SnapshotEnv = None,
    directory: DirOption = None,
    who: WhoOption = None,
    as_json: JsonOption = False,
) -> None:
    """Back up every flagramp table to a file, in one snapshot of the database
    (it writes nothing to the store); or, with --env, snapshot one environment."""
    if env is not None and out is not None:
        fail("--out is for a full backup; an environment snapshot stays in the store")
    with user_errors():
        store = open_store()
        ref = create_backup(
            store,
            label=label,
            author=author(who, ""),
            environment=env,
            out=out,
            directory=None if out else _directory(directory),
        )
    if as_json:
        emit_json(_ref_json(ref))
    elif ref.path is not None:
        console.print(
            f"backup {ref.id}: {count(ref.rows, 'row')}, store version "
            f"{ref.store_version}, audit head {(ref.audit_head or '')[:16]} "
            f"→ {ref.path}"
        )
    else:
        console.print(
            f"snapshot {ref.id} of {ref.environment}: "
            f"{count(ref.rows, 'flag or segment', 'flags and segments')} at store "
            f"version {ref.store_version}"
        )


@backup_app.command("list")
def list_command(
    env: Annotated[
        str | None,
        typer.Option(
            "--env", "-e", metavar="ENV", help="List this environment's snapshots."
        ),
    ] = None,
    directory: DirOption = None,
    as_json: JsonOption = False,
) -> None:
    """List the backup files in the backup directory (their manifests are read,
    not their rows), or with --env an environment's snapshots."""
    if env is not None:
        with user_errors():
            refs = environment_snapshots(open_store(), env)
        if as_json:
            emit_json([_ref_json(r) for r in refs])
            return
        table = Table("id", "taken (UTC)", "label", "by", "version", "entries")
        for ref in refs:
            table.add_row(
                ref.id,
                _when(ref),
                ref.label,
                ref.author,
                str(ref.store_version),
                str(ref.rows),
            )
        console.print(table)
        return
    folder = _directory(directory)
    files = list_backups(folder)
    if as_json:
        emit_json(
            [
                {"file": str(f.path), "problem": f.problem}
                | (_ref_json(f.ref) if f.ref else {})
                for f in files
            ]
        )
        return
    table = Table(
        "id",
        "made (UTC)",
        "label",
        "by",
        "version",
        "rows",
        "file",
        title=f"backups in {folder}",
    )
    for file in files:
        if file.ref is None:
            continue
        ref = file.ref
        table.add_row(
            ref.id,
            _when(ref),
            ref.label,
            ref.author,
            str(ref.store_version),
            f"{ref.rows:,}",
            file.path.name,
        )
    console.print(table)
    for file in files:
        if file.ref is None:
            say = f"{file.path.name} is not a whole backup: {file.problem}"
            err_console.print(styled("warning:", "yellow"), say)


@backup_app.command("restore")
def restore(
    file: Annotated[Path, typer.Argument(help="The backup file.")],
    force: Annotated[
        bool,
        typer.Option("--force", help="Replace a store that is not empty."),
    ] = False,
    who: WhoOption = None,
    why: WhyOption = "",
    as_json: JsonOption = False,
) -> None:
    """Restore a backup into the store (FLAGRAMP_DATABASE_URL): all of it in one
    transaction, verified, then recorded in the audit log. Needs the audit keys
    the backup's rows are signed with."""
    with user_errors():
        report = restore_backup(
            open_store(), file, author=author(who, why), force=force
        )
    audit = report.audit
    if as_json:
        emit_json(
            {
                "backup": _ref_json(report.backup),
                "replaced": None
                if report.replaced is None
                else report.replaced.summary(),
                "migrated_from": report.migrated_from,
                "version": report.version,
                "audit": {
                    "ok": audit.ok,
                    "rows": audit.rows,
                    "head": audit.head,
                    "problems": [str(p) for p in audit.problems],
                    "limits": list(audit.limits),
                },
            }
        )
        return
    for problem in audit.problems:
        err_console.print(styled("warning:", "yellow"), f"as backed up: {problem}")
    for limit in audit.limits:
        err_console.print(styled("note:", "yellow"), limit)
    if report.replaced is not None:
        old = report.replaced
        console.print(
            f"replaced a store at version {old.version} with "
            f"{count(old.audit_rows, 'audit row')}"
        )
    if report.migrated_from:
        console.print(f"migrated from schema revision {report.migrated_from}")
    verdict = "verifies" if audit.ok else "holds the problems it was backed up with"
    console.print(
        f"restored backup {report.backup.id} ({report.backup.label}): "
        f"{count(report.backup.rows, 'row')}; the audit log {verdict} "
        f"({count(audit.rows, 'row')}, head {audit.head[:16]}); the restore is "
        f"audit row {audit.rows + 1} at store version {report.version}"
    )


@backup_app.command("restore-snapshot")
def restore_snapshot(
    snapshot: Annotated[str, typer.Argument(help="The snapshot's id.")],
    who: WhoOption = None,
    why: WhyOption = "",
) -> None:
    """Write an environment snapshot back: its flags and segments become as in
    the snapshot, each change a new audit row (the history in between stays)."""
    with user_errors():
        done = restore_environment(open_store(), snapshot, author=author(who, why))
    console.print(
        f"wrote snapshot {done.snapshot.id} ({done.snapshot.label}) back to "
        f"{done.snapshot.environment}: {count(done.flags_changed, 'flag')} and "
        f"{count(done.segments_changed, 'segment')} changed"
    )


@backup_app.command("schedule")
def schedule(
    name: Annotated[str, typer.Argument(help="The schedule's name.")],
    daily: Annotated[
        str | None, typer.Option("--daily", metavar="HH:MM", help="Every day at.")
    ] = None,
    at: Annotated[
        str | None,
        typer.Option("--at", metavar="TIME", help="Once, at an ISO 8601 time."),
    ] = None,
    evening_prior: Annotated[
        str | None,
        typer.Option(
            "--evening-before",
            metavar="DATE",
            help="Once, at 10 pm local time the evening before DATE (seed 004).",
        ),
    ] = None,
    timezone: Annotated[
        str, typer.Option("--tz", metavar="ZONE", help="Time zone of the times.")
    ] = "UTC",
    env: SnapshotEnv = None,
    label: LabelOption = "scheduled backup",
    who: WhoOption = None,
) -> None:
    """Schedule a backup; the controller makes it when due (or `backup run-due`)."""
    if sum(x is not None for x in (daily, at, evening_prior)) != 1:
        fail("say when: one of --daily HH:MM, --at TIME or --evening-before DATE")
    try:
        daily_at = None if daily is None else dt.time.fromisoformat(daily)
        once_at = None if at is None else dt.datetime.fromisoformat(at)
        day = None if evening_prior is None else dt.date.fromisoformat(evening_prior)
    except ValueError as exc:
        fail(f"not a time or date: {exc}")
    with user_errors():
        store = open_store()
        if day is not None:
            once_at = evening_before(day, timezone)
        elif once_at is not None and once_at.tzinfo is None:
            once_at = once_at.replace(tzinfo=_zone_of(timezone))
        made = schedule_backup(
            store,
            name,
            label=label,
            author=author(who, ""),
            now=store.clock.now(),
            daily_at=daily_at,
            once_at=once_at,
            timezone=timezone,
            environment=env,
        )
    due = "never" if made.next_due is None else made.next_due.isoformat()
    console.print(f"backup schedule {made.name}: next due {due}")


@backup_app.command("schedules")
def schedules(as_json: JsonOption = False) -> None:
    """List the backup schedules."""
    with user_errors():
        found = list_backup_schedules(open_store())
    if as_json:
        emit_json(
            [
                {
                    "name": s.name,
                    "label": s.label,
                    "environment": s.environment,
                    "daily_at": None if s.daily_at is None else s.daily_at.isoformat(),
                    "timezone": s.timezone,
                    "next_due": None if s.next_due is None else s.next_due.isoformat(),
                    "last_backup": s.last_backup,
                }
                for s in found
            ]
        )
        return
    table = Table("name", "what", "when", "next due (UTC)", "last backup")
    for s in found:
        when = f"daily {s.daily_at:%H:%M} {s.timezone}" if s.daily_at else "once"
        table.add_row(
            s.name,
            s.environment or "full",
            when,
            "done" if s.next_due is None else f"{s.next_due:%Y-%m-%d %H:%M}",
            s.last_backup or "",
        )
    console.print(table)


@backup_app.command("unschedule")
def unschedule(
    name: Annotated[str, typer.Argument(help="The schedule's name.")],
    who: WhoOption = None,
) -> None:
    """Remove a backup schedule."""
    with user_errors():
        cancel_backup_schedule(open_store(), name, author=author(who, ""))
    console.print(f"backup schedule {name} removed")


@backup_app.command("run-due")
def run_due(directory: DirOption = None, who: WhoOption = None) -> None:
    """Make the backups that are due now (what the controller's tick does; for
    a cron job where no controller runs)."""
    with user_errors():
        store = open_store()
        made = run_due_backups(
            store,
            store.clock.now(),
            author=author(who, ""),
            directory=_directory(directory),
        )
    for ref in made:
        console.print(f"{ref.kind.value} backup {ref.id}: {ref.label}")
    if not made:
        console.print("no backup is due")


def _zone_of(timezone: str) -> dt.tzinfo:
    try:
        return ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        fail(f"unknown time zone {timezone!r} (write one like America/New_York)")


def _when(ref: BackupRef) -> str:
    return ref.created_at.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S")


def _ref_json(ref: BackupRef) -> dict[str, object]:
    return {
        "id": ref.id,
        "kind": ref.kind.value,
        "label": ref.label,
        "author": ref.author,
        "created_at": ref.created_at.isoformat(),
        "environment": ref.environment,
        "store_version": ref.store_version,
        "rows": ref.rows,
        "checksum": ref.checksum,
        "audit_head": ref.audit_head,
        "file": None if ref.path is None else str(ref.path),
    }
