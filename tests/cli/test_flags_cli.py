"""`flagramp flags`, `eval`, `audit verify`, `db upgrade`: output, errors, exits."""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path

import pytest
import sqlalchemy as sa

from flagramp.core.flags import operations as ops
from flagramp.store import Author, SqlFlagStore
from flagramp.store.database import head_revision
from tests.cli.conftest import Invoke

KEY = "va_online_scheduling_facilities_service_v2"


def _lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


@pytest.fixture
def with_flag(cli: Invoke) -> None:
    assert cli("flags", "create", KEY, "--description", "Phase I").exit_code == 0


def test_create_list_show(cli: Invoke, with_flag: None) -> None:
    listed = json.loads(cli("flags", "list", "--json").stdout)
    assert [(f["key"], f["state"], f["description"]) for f in listed] == [
        (KEY, "off", "Phase I")
    ]
    shown = cli("flags", "show", KEY)
    assert shown.exit_code == 0 and "percentage_of_actors" in shown.stdout


def test_percent_enable_disable_and_state(
    cli: Invoke, with_flag: None, store: SqlFlagStore
) -> None:
    assert cli("flags", "percent", KEY, "5", "--why", "Stage A").exit_code == 0
    assert store.require_flag(KEY).percentage_of_actors.text == "5"  # type: ignore[union-attr]
    assert cli("flags", "percent", KEY, "12.5", "--time").exit_code == 0
    assert store.require_flag(KEY).percentage_of_time.text == "12.5"  # type: ignore[union-attr]
    assert cli("flags", "enable", KEY).exit_code == 0
    assert store.require_flag(KEY).state == "on"
    assert cli("flags", "disable", KEY, "--why", "critical: error rate").exit_code == 0
    assert store.require_flag(KEY).state == "off"
    history = json.loads(cli("flags", "history", KEY, "--json").stdout)
    assert [h["action"] for h in history] == [
        "create",
        "percentage_of_actors",
        "percentage_of_time",
        "enable",
        "disable",
    ]
    assert history[1]["why"] == "Stage A" and history[1]["who"] == "alice@va.gov"


def test_actor_deny_group_segment_expression(
    cli: Invoke, with_flag: None, store: SqlFlagStore
) -> None:
    assert cli("flags", "actor", "add", KEY, "uat@va.gov").exit_code == 0
    assert cli("flags", "deny", KEY, "broken@va.gov").exit_code == 0
    assert (
        cli(
            "flags", "segment", "define", "oracle_health", "ehr in [oracle, cerner]"
        ).exit_code
        == 0
    )
    assert cli("flags", "segment", "apply", KEY, "oracle_health").exit_code == 0
    assert cli("flags", "group", KEY, "oracle_health").exit_code == 0
    expression = '{"Equal": [{"Property": "ehr"}, "oracle"]}'
    assert cli("flags", "expression", KEY, expression).exit_code == 0
    flag = store.require_flag(KEY)
    assert flag.actors == ("uat@va.gov",)
    assert flag.denied_actors == ("broken@va.gov",)
    assert flag.eligibility == "oracle_health"
    assert flag.groups == ("oracle_health",)
    assert flag.expression == {"Equal": [{"Property": ["ehr"]}, "oracle"]}
    assert cli("flags", "actor", "remove", KEY, "uat@va.gov").exit_code == 0
    assert cli("flags", "deny", KEY, "broken@va.gov", "--remove").exit_code == 0
    flag = store.require_flag(KEY)
    assert flag.actors == () and flag.denied_actors == ()
    segments = json.loads(cli("flags", "segment", "list", "--json").stdout)
    assert segments == [
        {
            "name": "oracle_health",
            "rules": ["ehr in [oracle, cerner]"],
            "description": "",
        }
    ]


def test_eval_names_the_deciding_gate(cli: Invoke, with_flag: None) -> None:
    cli("flags", "segment", "define", "oracle_health", "ehr == oracle")
    cli("flags", "segment", "apply", KEY, "oracle_health")
    cli("flags", "percent", KEY, "1")
    # veteran-1072@va.gov is bucket 189 of this flag
    result = json.loads(
        cli(
            "eval",
            KEY,
            "--actor",
            "veteran-1072@va.gov",
            "--prop",
            "ehr=oracle",
            "--json",
        ).stdout
    )
    assert (result["enabled"], result["gate"]) == (True, "percentage_of_actors")
    result = json.loads(
        cli(
            "eval",
            KEY,
            "--actor",
            "veteran-1072@va.gov",
            "--prop",
            "ehr=vista",
            "--json",
        ).stdout
    )
    assert (result["enabled"], result["gate"]) == (False, "eligibility")
    text = cli("eval", KEY, "--actor", "veteran-1072@va.gov", "-p", "ehr=oracle").stdout
    assert "on — percentage_of_actors: bucket 189 of 100000 is below 1% (1000)" in text


def test_export_then_import_round_trips(
    cli: Invoke, with_flag: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cli("flags", "percent", KEY, "25.0")
    cli("flags", "actor", "add", KEY, "User;1")
    out = tmp_path / "flipper.json"
    assert cli("flags", "export", "--output", str(out)).exit_code == 0
    exported = json.loads(out.read_text())
    assert exported["features"][KEY]["percentage_of_actors"] == "25.0"
    monkeypatch.setenv("FLAGRAMP_DATABASE_URL", f"sqlite:///{tmp_path / 'other.db'}")
    assert cli("flags", "import", str(out)).exit_code == 0
    assert json.loads(cli("flags", "export").stdout) == exported


def test_import_features_yml(cli: Invoke, tmp_path: Path, store: SqlFlagStore) -> None:
    path = tmp_path / "features.yml"
    path.write_text("features:\n  a:\n    description: A\n  b:\n    actor_type: user\n")
    result = cli("flags", "import", str(path))
    assert result.exit_code == 0, result.output
    assert [f.key for f in store.list_flags()] == ["a", "b"]


def _version(store: SqlFlagStore) -> tuple[int, int]:
    return store.version(), len(store.audit_entries())


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["flags", "enable", "ghost"], "no flag 'ghost' in environment 'production'"),
        (
            ["flags", "percent", KEY, "101"],
            "percentage '101' must be a number from 0 to 100",
        ),
        (["flags", "percent", KEY, "12.3456"], "with at most 3 decimals"),
        (["flags", "percent", KEY, "ten"], "percentage 'ten'"),
        (["flags", "expression", KEY, "{not json"], "expression is not valid JSON"),
        (["flags", "expression", KEY, '{"Nope": [1]}'], "unknown function 'Nope'"),
        (
            ["flags", "expression", KEY, '{"Any": []}'],
            "an Any or All group has no arguments",
        ),
        (["flags", "segment", "define", "s", "ehr ~ oracle"], "invalid segment rule"),
        (["flags", "segment", "apply", KEY, "nope"], "no segment 'nope'"),
        (["flags", "show", "ghost"], "no flag 'ghost'"),
        (["flags", "history", "ghost"], "no flag 'ghost'"),
        (["flags", "actor", "add", "ghost", "u"], "no flag 'ghost'"),
        (["eval", "ghost", "--actor", "a"], "no flag 'ghost'"),
        (["eval", KEY, "--prop", "novalue"], "--prop takes name=value"),
        (["flags", "create", " padded "], "invalid flag key"),
    ],
)
def test_bad_input_is_one_line_nonzero_and_writes_nothing(
    cli: Invoke, with_flag: None, store: SqlFlagStore, args: list[str], message: str
) -> None:
    before = _version(store)
    result = cli(*args)
    assert result.exit_code == 1
    assert result.stdout == ""
    lines = _lines(result.stderr)
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ") and message in lines[0]
    assert "Traceback" not in result.output
    assert _version(store) == before


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{malformed", "not valid JSON"),
        ('{"version": 1}', 'no "features" key'),
        ('{"features": {"x": {"percentage_of_actors": "101"}}}', "outside 0..100"),
    ],
)
def test_bad_import_file_writes_nothing(
    cli: Invoke,
    with_flag: None,
    store: SqlFlagStore,
    tmp_path: Path,
    content: str,
    message: str,
) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content)
    before = _version(store)
    result = cli("flags", "import", str(path))
    assert result.exit_code == 1 and message in result.stderr
    assert len(_lines(result.stderr)) == 1
    assert _version(store) == before


def test_import_missing_file(cli: Invoke, tmp_path: Path) -> None:
    result = cli("flags", "import", str(tmp_path / "nope.json"))
    assert result.exit_code == 1 and "no such file" in result.stderr


def test_audit_verify_passes_then_names_an_edited_row(
    cli: Invoke, with_flag: None, store: SqlFlagStore
) -> None:
    cli("flags", "percent", KEY, "5")
    ok = cli("audit", "verify")
    assert ok.exit_code == 0 and "2 rows, chain intact" in ok.stdout
    with store.engine.begin() as conn:
        conn.execute(sa.text("UPDATE audit_log SET after = '{}' WHERE id = 2"))
    broken = cli("audit", "verify")
    assert broken.exit_code == 1
    assert "audit row 2: its contents were edited" in broken.stderr
    report = json.loads(cli("audit", "verify", "--json").stdout)
    assert report["ok"] is False and report["problems"][0]["row"] == 2


def test_db_upgrade_is_idempotent(cli: Invoke) -> None:
    first = cli("db", "upgrade")
    assert (
        first.exit_code == 0 and f"upgraded empty → {head_revision()}" in first.stdout
    )
    assert "already at" in cli("db", "upgrade").stdout


def test_environments_via_option(cli: Invoke, store: SqlFlagStore) -> None:
    cli("flags", "create", "x", "--env", "staging")
    cli("flags", "enable", "x", "--env", "staging")
    assert store.require_flag("x", "staging").state == "on"
    assert cli("flags", "show", "x").exit_code == 1


def test_tour_runs_on_a_fresh_store_and_again(cli: Invoke, store: SqlFlagStore) -> None:
    first = cli("tour")
    assert first.exit_code == 0, first.output
    assert "imported seed 000's four VAOS toggles (4 changed)" in first.stdout
    assert "hash chain intact" in first.stdout
    assert "deny" in first.stdout and "eligibility" in first.stdout
    assert "\\n" not in first.stdout  # its own lines are lines, not escapes
    assert "\nNext: flagramp flags show " in first.stdout
    again = cli("tour")
    assert again.exit_code == 0
    assert "(0 changed)" in again.stdout
    assert len(store.list_flags()) == 4


def test_show_and_list_name_a_shared_bucket_key(
    cli: Invoke, with_flag: None, store: SqlFlagStore
) -> None:
    assert cli("flags", "create", "other").exit_code == 0
    assert cli("flags", "percent", "other", "5").exit_code == 0
    share = partial(ops.set_bucket_key, bucket_key=KEY)
    store.change_flag("other", share, Author("alice@va.gov", "launch together"))
    shown = cli("flags", "show", "other").stdout
    assert "bucket key" in shown and KEY in shown
    assert "bucket key" not in cli("flags", "show", KEY).stdout
    listed = {f["key"]: f for f in json.loads(cli("flags", "list", "--json").stdout)}
    assert listed["other"]["bucket_key"] == KEY
    assert "bucket_key" not in listed[KEY]
