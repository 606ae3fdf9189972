"""`flagramp backup …`: create, list, restore and snapshots from the command
line, each failure one line with exit code 1."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.cli.conftest import Invoke, assert_one_error


@pytest.fixture
def backed_up(cli: Invoke, db_url: str) -> Path:
    """A store with one flag at 5 %, and a backup of it; returns the file."""
    assert cli("flags", "create", "vaos", "--description", "naïve").exit_code == 0
    assert cli("flags", "percent", "vaos", "5").exit_code == 0
    result = cli("backup", "create", "--label", "before release", "--json")
    assert result.exit_code == 0, result.output
    made = json.loads(result.stdout)
    assert (made["kind"], made["label"], made["store_version"]) == (
        "full",
        "before release",
        2,
    )
    path = Path(made["file"])
    assert path.parent == Path(db_url.removeprefix("sqlite:///") + ".backups")
    return path


def _elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, db_url: str) -> str:
    """Point the CLI at a second SQLite database holding the same audit key."""
    source_key = Path(db_url.removeprefix("sqlite:///") + ".audit-key")
    target = tmp_path / "restored.db"
    shutil.copy(source_key, f"{target}.audit-key")
    url = f"sqlite:///{target}"
    monkeypatch.setenv("FLAGRAMP_DATABASE_URL", url)
    return url


def test_restore_elsewhere_then_refused_there_without_force(
    cli: Invoke,
    backed_up: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    db_url: str,
) -> None:
    _elsewhere(tmp_path, monkeypatch, db_url)
    result = cli("backup", "restore", str(backed_up))
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("restored backup ")
    assert "(before release): 6 rows; the audit log verifies (2 rows, head " in (
        result.stdout
    )
    assert result.stdout.rstrip().endswith(
        "the restore is audit row 3 at store version 3"
    )
    assert "verifies: 3 rows, chain intact" in cli("audit", "verify").stdout
    assert "5% of actors" in cli("flags", "list").stdout
    assert_one_error(
        cli("backup", "restore", str(backed_up)),
        "the target store is not empty (store version 3, 3 audit row(s), rows in "
        "audit_log, flags): restore with --force to replace everything in it",
    )
    forced = cli("backup", "restore", str(backed_up), "--force")
    assert forced.exit_code == 0
    assert forced.stdout.startswith("replaced a store at version 3 with 3 audit rows")


def test_without_the_key_the_restore_says_which_keys_it_needs(
    cli: Invoke, backed_up: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FLAGRAMP_DATABASE_URL", f"sqlite:///{tmp_path / 'bare.db'}")
    result = cli("backup", "restore", str(backed_up))
    assert_one_error(result, "the backup's audit rows are signed with key(s) ")
    assert "FLAGRAMP_AUDIT_KEY or the key file kept with the backups" in result.stderr


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "is not a whole flagramp backup: it is cut short, or not a zip file"),
        (b"PK\x03\x04\x1b[31mred", "is not a whole flagramp backup"),
    ],
)
def test_a_damaged_file_is_one_line(
    cli: Invoke, tmp_path: Path, content: bytes, message: str
) -> None:
    bad = tmp_path / "bad.zip"
    bad.write_bytes(content)
    assert_one_error(cli("backup", "restore", str(bad)), message)
    assert_one_error(cli("backup", "restore", str(tmp_path / "no.zip")), "no such file")


def test_list_shows_backups_and_damaged_files(cli: Invoke, backed_up: Path) -> None:
    (backed_up.parent / "cut.zip").write_bytes(backed_up.read_bytes()[:100])
    listed = json.loads(cli("backup", "list", "--json").stdout)
    assert [(Path(f["file"]).name, f["problem"]) for f in listed] == [
        ("cut.zip", "it is cut short, or not a zip file at all"),
        (backed_up.name, None),
    ]
    shown = cli("backup", "list")
    assert shown.stderr == (
        "warning: cut.zip is not a whole backup: it is cut short, or not a zip file "
        "at all\n"
    )
    assert shown.exit_code == 0 and "cut.zip" not in shown.stdout


def test_a_snapshot_written_back_from_the_command_line(cli: Invoke) -> None:
    assert cli("flags", "create", "vaos", "--env", "qa").exit_code == 0
    made = cli("backup", "create", "--env", "qa", "--label", "pre-promo")
    assert made.stdout.startswith("snapshot ") and "of qa: 1 flag or segment" in (
        made.stdout
    )
    [snapshot] = json.loads(cli("backup", "list", "--env", "qa", "--json").stdout)
    assert cli("flags", "enable", "vaos", "--env", "qa").exit_code == 0
    back = cli("backup", "restore-snapshot", snapshot["id"])
    assert back.stdout.strip() == (
        f"wrote snapshot {snapshot['id']} (pre-promo) back to qa: 1 flag and 0 "
        "segments changed"
    )
    assert "off" in cli("flags", "show", "vaos", "--env", "qa").stdout
    assert_one_error(
        cli("backup", "restore-snapshot", "nope"), "no environment snapshot 'nope'"
    )
    assert_one_error(
        cli("backup", "create", "--env", "qa", "--out", "x.zip"),
        "--out is for a full backup",
    )


def test_a_schedule_due_now_is_made_by_run_due(cli: Invoke, db_url: str) -> None:
    assert cli("flags", "create", "vaos").exit_code == 0
    made = cli("backup", "schedule", "once", "--at", "2020-01-01T22:00", "--tz", "UTC")
    assert (
        made.stdout.strip()
        == "backup schedule once: next due 2020-01-01T22:00:00+00:00"
    )
    ran = cli("backup", "run-due")
    assert ran.stdout.startswith("full backup ") and ran.stdout.rstrip().endswith(
        ": scheduled backup"
    )
    assert cli("backup", "run-due").stdout.strip() == "no backup is due"
    [schedule] = json.loads(cli("backup", "schedules", "--json").stdout)
    assert schedule["next_due"] is None and schedule["last_backup"]
    assert cli("backup", "unschedule", "once").exit_code == 0
    assert_one_error(cli("backup", "unschedule", "once"), "no backup schedule 'once'")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["x"], "say when: one of --daily HH:MM, --at TIME or --evening-before DATE"),
        (["x", "--daily", "25:00"], "not a time or date: hour must be in 0..23"),
        (
            ["x", "--daily", "22:00", "--tz", "Mars/Base"],
            "unknown time zone 'Mars/Base'",
        ),
        (["x", "--evening-before", "July 26"], "not a time or date"),
    ],
)
def test_a_schedule_that_cannot_be_kept_is_one_line(
    cli: Invoke, args: list[str], message: str
) -> None:
    assert_one_error(cli("backup", "schedule", *args), message)
