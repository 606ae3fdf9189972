"""`plan lint` reads the flags' current state from a configured store, never
creating one."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from flagramp.cli.app import app
from tests.cli.conftest import Invoke
from tests.core.plans.sample import BASE


@pytest.fixture
def plan_file(tmp_path: Path) -> Path:
    path = tmp_path / "plan.yaml"
    path.write_text(BASE, encoding="utf-8")
    return path


def test_lint_warns_about_a_flag_already_fully_on_in_the_store(
    cli: Invoke, plan_file: Path
) -> None:
    assert cli("flags", "create", "new_flow").exit_code == 0
    assert cli("flags", "percent", "new_flow", "40").exit_code == 0
    assert cli("plan", "lint", str(plan_file)).output.strip().endswith("0 warnings")
    assert cli("flags", "enable", "new_flow").exit_code == 0
    result = cli("plan", "lint", str(plan_file))
    assert result.exit_code == 0
    assert (
        f"warning: {plan_file}:21:13: phases[0].flags[0]: flag 'new_flow' is already "
        "on for everyone"
    ) in result.output


def test_lint_reads_the_plans_environment_unless_told_otherwise(
    cli: Invoke, plan_file: Path
) -> None:
    assert cli("flags", "create", "new_flow", "--env", "staging").exit_code == 0
    assert cli("flags", "enable", "new_flow", "--env", "staging").exit_code == 0
    # The plan changes `production`, where the flag does not exist yet.
    assert "already on" not in cli("plan", "lint", str(plan_file)).output
    staged = cli("plan", "lint", str(plan_file), "--env", "staging")
    assert "flag 'new_flow' is already on for everyone" in staged.output


def test_lint_without_a_store_creates_none(
    plan_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FLAGRAMP_DATABASE_URL", raising=False)
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["plan", "lint", str(plan_file)])
    assert result.exit_code == 0 and result.output.strip().endswith("0 warnings")
    assert list(tmp_path.glob("*.db")) == []


def test_lint_with_an_unreachable_store_says_so_in_one_line(
    plan_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FLAGRAMP_DATABASE_URL", "not a url")
    result = CliRunner().invoke(app, ["plan", "lint", str(plan_file)])
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert "not a database URL" in result.output
