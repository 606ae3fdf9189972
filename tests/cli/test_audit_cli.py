"""`flagramp audit verify` on a tampered store and `flagramp audit rotate-key`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa

from flagramp.store import SqlFlagStore
from tests.cli.conftest import Invoke


@pytest.fixture
def changed(cli: Invoke) -> None:
    assert cli("flags", "create", "vaos").exit_code == 0
    assert cli("flags", "percent", "vaos", "5").exit_code == 0


def test_a_flag_turned_on_in_the_database_is_named(
    cli: Invoke, changed: None, store: SqlFlagStore
) -> None:
    with store.engine.begin() as conn:
        conn.execute(
            sa.text("UPDATE flags SET state = REPLACE(state, :a, :b)"),
            {"a": '"boolean":null', "b": '"boolean":"true"'},
        )
    result = cli("audit", "verify")
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        "error: flag 'vaos' in 'production': differs from its audit history "
        '(row 2): gates.boolean is "true" in the store, null in the history'
    )
    report = json.loads(cli("audit", "verify", "--json").stdout)
    assert report["problems"] == [
        {
            "row": None,
            "subject": "flag 'vaos' in 'production'",
            "detail": "differs from its audit history (row 2): gates.boolean is "
            '"true" in the store, null in the history',
        }
    ]


def test_rotate_key_then_both_keys_verify(
    cli: Invoke, changed: None, db_url: str
) -> None:
    rotated = cli("audit", "rotate-key")
    assert rotated.exit_code == 0 and "older keys are kept" in rotated.stdout
    assert cli("flags", "enable", "vaos").exit_code == 0
    report = json.loads(cli("audit", "verify", "--json").stdout)
    assert (report["ok"], report["rows"], len(report["key_ids"])) == (True, 3, 2)
    key_file = Path(db_url.removeprefix("sqlite:///") + ".audit-key")
    assert len(key_file.read_text().split("\n")) == 6  # 3 comment lines, 2 keys


def test_verify_without_the_key_notes_what_it_cannot_detect(
    cli: Invoke, changed: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FLAGRAMP_AUDIT_KEY_FILE", str(tmp_path / "absent"))
    result = cli("audit", "verify")
    assert result.exit_code == 0
    assert "note: 2 row(s) (rows 1–2) are signed with key" in result.stderr
    assert "2 rows, see the notes above" in result.stdout


def test_rotate_key_from_the_environment_is_one_clear_error(
    cli: Invoke, changed: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FLAGRAMP_AUDIT_KEY", "ab" * 32)
    result = cli("audit", "rotate-key")
    assert result.exit_code == 1
    assert result.stderr.startswith("error: audit key FLAGRAMP_AUDIT_KEY: is not")
