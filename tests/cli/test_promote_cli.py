"""`flagramp promote FROM TO`: snapshot, copy, and restore on --no-go."""

from __future__ import annotations

from flagramp.store import SqlFlagStore
from tests.cli.conftest import Invoke, store_state


def test_promote_copies_and_no_go_restores(cli: Invoke, store: SqlFlagStore) -> None:
    assert cli("flags", "create", "release", "--env", "qa").exit_code == 0
    assert cli("flags", "enable", "release", "--env", "qa").exit_code == 0
    assert cli("flags", "create", "own", "--env", "prod").exit_code == 0
    before = store.list_flags("prod")
    go = cli("promote", "qa", "prod", "--yes")
    assert go.exit_code == 0, go.output
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
