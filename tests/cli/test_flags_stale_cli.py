"""`flagramp flags stale`: flags fully on for longer than a time."""

from __future__ import annotations

import json

from tests.cli.conftest import Invoke, assert_one_error


def test_a_flag_turned_on_just_now_is_not_stale(cli: Invoke) -> None:
    assert cli("flags", "create", "launched").exit_code == 0
    assert cli("flags", "enable", "launched").exit_code == 0
    result = cli("flags", "stale", "--older-than", "30d", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == []
    shown = cli("flags", "stale", "--older-than", "1w")
    assert "0 flags ready to remove" in shown.stdout


def test_a_bad_age_is_one_error(cli: Invoke) -> None:
    assert_one_error(cli("flags", "stale", "--older-than", "soon"), "--older-than")
