"""`flagramp flipper inspect STORE_URL`, and FLAGRAMP_FLAG_STORE for every command."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from flagramp.store.flipper import FlipperTablesStore
from tests.cli.conftest import Invoke, assert_one_error
from tests.store.flipper.tables import create_flipper_tables, execute, gate_rows

STAMP = "'2026-12-01 10:00:00'"


@pytest.fixture
def rails_db(tmp_path: Path) -> str:
    """A Rails app's SQLite database with Flipper 0.25's tables and features."""
    url = f"sqlite:///{tmp_path / 'rails_app.db'}"
    create_flipper_tables(url, "string")
    features = {
        "search": [("boolean", "true")],
        "vaos_requests": [
            ("percentage_of_actors", "25"),
            ("actors", "uat@va.gov"),
            ("actors", "User;2"),
            ("actors", "User;3"),
            ("actors", "User;4"),
        ],
        "sm_oracle": [("groups", "oracle_users"), ("percentage_of_time", "10")],
        "too_much": [("percentage_of_actors", "150")],
        "quiet": [],
        "evil\x1b[31m": [("boolean", "true")],
    }
    statements = [
        "INSERT INTO flipper_features (key, created_at, updated_at) "
        f"VALUES (:k_{i}, {STAMP}, {STAMP})"
        for i in range(len(features))
    ]
    params: dict[str, object] = {f"k_{i}": key for i, key in enumerate(features)}
    execute(url, *statements, parameters=params)
    rows = [
        "INSERT INTO flipper_gates (feature_key, key, value, created_at, updated_at) "
        f"VALUES ('{key}', '{gate}', '{value}', {STAMP}, {STAMP})"
        for key, gates in features.items()
        if "\x1b" not in key
        for gate, value in gates
    ]
    rows.append(
        "INSERT INTO flipper_gates (feature_key, key, value, created_at, updated_at) "
        f"VALUES ('ghost', 'boolean', 'true', {STAMP}, {STAMP})"
    )
    execute(url, *rows)
    return url


def test_inspect_shows_features_gates_rollouts_and_what_adopting_changes(
    cli: Invoke, rails_db: str
) -> None:
    result = cli("flipper", "inspect", "flipper+" + rails_db)
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert f"Flipper's tables at {rails_db} (flipper_features, flipper_gates)" in out
    assert "value column: varchar: Flipper 0.25 (varchar value: no expressions)" in out
    assert "6 features" in out
    # The table wraps its cells to the terminal; the words are there all the same.
    flat = " ".join(out.replace("│", " ").split())
    for words in (
        "vaos_requests 4 actors:",
        "'uat@va.gov', 'User;2', 'User;3' and 1 more; 25 % of",
        "looks like a staged rollout at 25 % of actors with 4 allow-listed",
        "not a rollout by users",
        "cannot be adopted: too_much: percentage '150' is outside 0..100",
    ):
        assert " ".join(words.split()) in flat or _wrapped(words, out), words
    # A key with an escape character is shown escaped, never raw.
    assert "evil\\x1b[31m" in out and "\x1b[31m" not in out
    assert "- 4 features would become flags of environment 'production'" in out
    assert "the group 'oracle_users' is a Ruby block in the app" in out
    assert "gate rows without a feature row ('ghost': 1) are not adopted" in out
    assert (
        "flags with eligibility, a deny list or an expression would be refused" in out
    )


def _wrapped(words: str, out: str) -> bool:
    """Every word of `words` is in the table, in order (cells wrap across rows)."""
    cells = out.replace("│", " ").split()
    position = 0
    for word in words.split():
        try:
            position = cells.index(word, position) + 1
        except ValueError:
            return False
    return True


def test_inspect_writes_nothing_anywhere(
    cli: Invoke, rails_db: str, db_url: str
) -> None:
    before = gate_rows(rails_db)
    assert cli("flipper", "inspect", "flipper+" + rails_db).exit_code == 0
    assert gate_rows(rails_db) == before
    assert not Path(db_url.removeprefix("sqlite:///")).exists()


def test_inspect_as_json(cli: Invoke, rails_db: str) -> None:
    result = cli("flipper", "inspect", "flipper+" + rails_db, "--json")
    data = json.loads(result.stdout)
    by_key = {f["key"]: f for f in data["features"]}
    assert by_key["vaos_requests"]["rollout"] == (
        "a staged rollout at 25 % of actors with 4 allow-listed actors"
    )
    assert by_key["vaos_requests"]["flag"]["gates"]["percentage_of_actors"] == "25"
    assert by_key["too_much"]["adoptable"] is False
    assert by_key["quiet"]["gates"] == ["off (no gate set)"]
    assert data["stray_rows"] == {"ghost": 1}
    assert data["value_type"] == "varchar"


def test_inspect_compares_with_flagramps_flags(cli: Invoke, rails_db: str) -> None:
    assert cli("flags", "create", "search").exit_code == 0
    assert cli("flags", "create", "only_here").exit_code == 0
    result = cli("flipper", "inspect", "flipper+" + rails_db, "--compare")
    assert "flagramp's flags 'search' differ from Flipper's rows" in result.stdout
    assert "flagramp's flags 'only_here' are not in Flipper's tables" in result.stdout


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("flipper+sqlite:///nowhere/app.db", "there is no file nowhere/app.db"),
        ("flipper+oracle://x/y", "cannot connect to oracle://x/y"),
        ("flipper+sqlite:///a.db?table_prefix=a-b", "a table prefix is letters"),
    ],
)
def test_inspect_fails_in_one_line(cli: Invoke, url: str, message: str) -> None:
    assert_one_error(cli("flipper", "inspect", url), message)


def test_commands_work_on_flippers_tables_with_the_flag_store_variable(
    cli: Invoke, rails_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    execute(rails_db, "DELETE FROM flipper_gates WHERE value = '150'")
    execute(rails_db, "DELETE FROM flipper_features WHERE key LIKE 'evil%'")
    monkeypatch.setenv("FLAGRAMP_FLAG_STORE", "flipper+" + rails_db)
    listed = cli("flags", "list", "--json")
    assert listed.exit_code == 0, listed.output
    assert "vaos_requests" in [f["key"] for f in json.loads(listed.stdout)]
    assert cli("flags", "percent", "vaos_requests", "50").exit_code == 0
    assert ("percentage_of_actors", "50") in gate_rows(rails_db)["vaos_requests"]
    monkeypatch.setenv("FLAGRAMP_FLAG_STORE", rails_db)
    assert_one_error(cli("flags", "list"), "FLAGRAMP_FLAG_STORE must be a flipper+")


def test_the_store_the_cli_opens_is_the_flipper_one(
    rails_db: str, monkeypatch: pytest.MonkeyPatch, db_url: str
) -> None:
    from flagramp.cli.connect import open_store

    monkeypatch.setenv("FLAGRAMP_FLAG_STORE", "flipper+" + rails_db)
    store = open_store()
    assert isinstance(store, FlipperTablesStore)
    store.close()


def test_release_lets_flagramps_own_store_write_the_environment_again(
    cli: Invoke, rails_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    execute(rails_db, "DELETE FROM flipper_gates WHERE value = '150'")
    execute(rails_db, "DELETE FROM flipper_features WHERE key LIKE 'evil%'")
    monkeypatch.setenv("FLAGRAMP_FLAG_STORE", "flipper+" + rails_db)
    assert cli("flags", "list").exit_code == 0  # adopts
    monkeypatch.delenv("FLAGRAMP_FLAG_STORE")
    assert_one_error(
        cli("flags", "percent", "vaos_requests", "50"),
        "environment 'production' is Flipper's tables at sqlite:///",
    )
    released = cli("flipper", "release", "production", "--why", "moving back")
    assert released.exit_code == 0, released.output
    assert released.stdout.startswith(
        f"environment 'production' is no longer Flipper's tables at {rails_db}"
    )
    assert "0 waiting writes not made" in released.stdout
    assert cli("flags", "percent", "vaos_requests", "50").exit_code == 0
    assert ("percentage_of_actors", "25") in gate_rows(rails_db)["vaos_requests"]
    again = cli("flipper", "release", "production")
    assert (
        again.stdout.strip()
        == "environment 'production' is not bound to Flipper's tables"
    )
