"""`flagramp promote FROM TO`: a built-in promotion plan run through the engine.
`--yes` is Go, `--no-go` restores; without either the run waits for the
promoter's go/no-go, which `run approve` gives and the controller finishes."""

from __future__ import annotations

import json

from flagramp.store import SqlFlagStore
from tests.cli.conftest import Invoke, store_state


def test_promote_copies_and_no_go_restores(cli: Invoke, store: SqlFlagStore) -> None:
    assert cli("flags", "create", "release", "--env", "qa").exit_code == 0
    assert cli("flags", "enable", "release", "--env", "qa").exit_code == 0
    assert cli("flags", "create", "own", "--env", "prod").exit_code == 0
    before = store.list_flags("prod")
    go = cli("promote", "qa", "prod", "--yes")
    assert go.exit_code == 0, go.output
    assert "run R1" in go.stdout and "R1: completed" in go.stdout
    assert store.require_flag("release", "prod").boolean
    assert cli("flags", "disable", "release", "--env", "qa").exit_code == 0
    assert cli("flags", "enable", "release", "--env", "qa").exit_code == 0
    promoted = store.list_flags("prod")
    version, _ = store_state(store)
    assert cli("flags", "create", "other", "--env", "qa").exit_code == 0
    no = cli("promote", "qa", "prod", "--no-go")
    assert no.exit_code == 1, no.output
    assert "no_go" in no.stdout and "restored prod" in no.stdout
    assert store.list_flags("prod") == promoted != before
    assert store.verify_audit().ok
    assert store_state(store)[0] > version
    # Both are runs of the built-in plan, with their logs.
    listed = json.loads(cli("run", "list", "--json").stdout)
    assert [(r["run"], r["plan"], r["status"]) for r in listed] == [
        ("R1", "promote-qa-to-prod", "completed"),
        ("R2", "promote-qa-to-prod", "aborted"),
    ]
    log = json.loads(cli("run", "log", "R2", "--json").stdout)
    kinds = [e["kind"] for e in log]
    for kind in ("promotion_backup", "promotion_copied", "promotion_vote"):
        assert kind in kinds
    assert kinds.index("promotion_restored") < kinds.index("promotion_reverified")
    backup = next(e for e in log if e["kind"] == "promotion_backup")
    assert str(backup["data"]["backup"]) in no.stdout


def test_promote_without_an_answer_waits_for_the_go_no_go(
    cli: Invoke, store: SqlFlagStore
) -> None:
    assert cli("flags", "create", "release", "--env", "qa").exit_code == 0
    assert cli("flags", "enable", "release", "--env", "qa").exit_code == 0
    waiting = cli("promote", "qa", "prod")
    assert waiting.exit_code == 0, waiting.output
    assert "run approve R1 --role promoter --launch" in waiting.stdout
    assert store.require_flag("release", "prod").boolean  # copied, not yet decided
    shown = json.loads(cli("run", "show", "R1", "--json").stdout)
    assert shown["status"] == "awaiting_go_no_go"
    # Only the person who promoted holds the promoter role.
    approve = ("run", "approve", "R1", "--role", "promoter", "--pivot")
    other = cli(*approve, "--as", "x@va.gov")
    assert other.exit_code == 1
    voted = cli(*approve)
    assert voted.exit_code == 0, voted.output
    assert cli("controller", "--once").exit_code == 0
    shown = json.loads(cli("run", "show", "R1", "--json").stdout)
    assert shown["status"] == "aborted"
    assert "release" not in {f.key for f in store.list_flags("prod")}
    assert store.verify_audit().ok


def test_promote_refuses_a_target_that_is_its_source(cli: Invoke) -> None:
    same = cli("promote", "qa", "qa", "--yes")
    assert same.exit_code == 1
    assert same.stderr.startswith("error: cannot promote qa to qa")
    assert json.loads(cli("run", "list", "--json").stdout) == []


def test_the_promoters_same_vote_again_writes_nothing(
    cli: Invoke, store: SqlFlagStore
) -> None:
    assert cli("flags", "create", "release", "--env", "qa").exit_code == 0
    assert cli("promote", "qa", "prod").exit_code == 0
    hold = ("run", "approve", "R1", "--role", "promoter", "--pause")
    first = cli(*hold, "--comment", "wait for QA")
    assert first.exit_code == 0, first.output
    written = store_state(store)
    again = cli(*hold, "--comment", "wait for QA")
    assert (again.exit_code, again.stdout) == (0, first.stdout)
    assert store_state(store) == written
    no_go = cli("run", "approve", "R1", "--role", "promoter", "--pivot")
    assert no_go.exit_code == 0, no_go.output
    log = json.loads(cli("run", "log", "R1", "--json").stdout)
    votes = [e["data"]["answer"] for e in log if e["kind"] == "promotion_vote"]
    assert votes == ["pause", "pivot"]
