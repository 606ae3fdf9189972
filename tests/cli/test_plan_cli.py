"""`flagramp plan …` through the Typer app, as a user runs it."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from typer.testing import CliRunner

from flagramp.cli.app import app
from flagramp.core.plans import load_plan
from tests.core.plans.sample import BASE

EXAMPLES = Path(__file__).parents[2] / "examples"
runner = CliRunner()


@pytest.fixture
def plan_file(tmp_path: Path) -> Path:
    path = tmp_path / "plan.yaml"
    path.write_text(BASE, encoding="utf-8")
    return path


@pytest.fixture
def bad_file(tmp_path: Path) -> Path:
    path = tmp_path / "bad.yaml"
    path.write_text(BASE.replace("percentage: 50", "percentage: 120"), encoding="utf-8")
    return path


def test_validate_ok_exits_0(plan_file: Path) -> None:
    result = runner.invoke(app, ["plan", "validate", str(plan_file)])
    assert result.exit_code == 0
    assert f"ok: {plan_file}: 1 phase, 3 stages" in result.output


def test_validate_error_exits_1_with_file_line_column(bad_file: Path) -> None:
    result = runner.invoke(app, ["plan", "validate", str(bad_file)])
    assert result.exit_code == 1
    assert f"{bad_file}:31:21: phases[0].stages[1].percentage: 120 is above 100" in (
        result.output
    )
    assert "Traceback" not in result.output


def test_validate_many_files_fails_if_any_fails(
    plan_file: Path, bad_file: Path
) -> None:
    result = runner.invoke(app, ["plan", "validate", str(plan_file), str(bad_file)])
    assert result.exit_code == 1
    assert "ok:" in result.output and "120 is above 100" in result.output


def test_validate_json(plan_file: Path, bad_file: Path) -> None:
    result = runner.invoke(
        app, ["plan", "validate", "--json", str(plan_file), str(bad_file)]
    )
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert data["valid"] is False
    assert [f["valid"] for f in data["files"]] == [True, False]
    assert data["files"][1]["problems"][0] == {
        "file": str(bad_file),
        "line": 31,
        "column": 21,
        "path": "phases[0].stages[1].percentage",
        "message": "120 is above 100",
        "hint": "",
        "level": "error",
    }


def test_validate_missing_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    result = runner.invoke(app, ["plan", "validate", str(missing)])
    assert result.exit_code == 1
    assert f"{missing}:1:1: cannot read: No such file or directory" in result.output


def test_validate_refuses_a_huge_file_without_reading_it(tmp_path: Path) -> None:
    huge = tmp_path / "huge.yaml"
    with huge.open("wb") as handle:
        handle.truncate(50 * 1024 * 1024)
    result = runner.invoke(app, ["plan", "validate", str(huge)])
    assert result.exit_code == 1
    assert "a plan may be at most 1048576 bytes" in result.output


@pytest.mark.parametrize("name", sorted(p.name for p in EXAMPLES.glob("*.yaml")))
def test_validate_and_lint_every_example(name: str) -> None:
    path = str(EXAMPLES / name)
    assert runner.invoke(app, ["plan", "validate", path]).exit_code == 0
    result = runner.invoke(app, ["plan", "lint", path])
    assert result.exit_code == 0
    assert result.output.strip().endswith("0 warnings")


def test_lint_prints_warnings_and_exits_0(tmp_path: Path) -> None:
    path = tmp_path / "plan.yaml"
    path.write_text(BASE.replace("title: Demo release", "title: TBD"), encoding="utf-8")
    result = runner.invoke(app, ["plan", "lint", str(path)])
    assert result.exit_code == 0
    assert f"warning: {path}:2:8: title: placeholder text 'TBD' left in 'TBD'" in (
        result.output
    )
    json_result = runner.invoke(app, ["plan", "lint", "--json", str(path)])
    assert json.loads(json_result.stdout)["problems"][0]["level"] == "warning"


def test_lint_of_an_invalid_plan_exits_1(bad_file: Path) -> None:
    result = runner.invoke(app, ["plan", "lint", str(bad_file)])
    assert result.exit_code == 1
    assert "120 is above 100" in result.output


def test_show_prints_tree_and_timeline(plan_file: Path) -> None:
    result = runner.invoke(
        app,
        ["plan", "show", str(plan_file), "--start", "2026-03-02T09:00+00:00"],
        env={"COLUMNS": "200"},
    )
    assert result.exit_code == 0, result.output
    assert "Demo release" in result.output
    assert "Canary: 5 % for 2h, go/no-go eng, po" in result.output
    assert "error_rate below 5 (critical, pause)" in result.output
    # 2h + 2h + 1d from 09:00: the earliest finish.
    assert "earliest finish 2026-03-03 13:00" in result.output


def test_show_rejects_a_bad_start(plan_file: Path) -> None:
    result = runner.invoke(app, ["plan", "show", str(plan_file), "--start", "soon"])
    assert result.exit_code == 1
    assert "--start 'soon' is not an ISO 8601 date or time" in result.output


def test_schema_is_json_schema_that_checks_plans() -> None:
    result = runner.invoke(app, ["plan", "schema"])
    assert result.exit_code == 0
    schema = json.loads(result.stdout)
    jsonschema.Draft202012Validator.check_schema(schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"name": "x"}, schema)


def test_new_writes_a_plan_that_validates_and_lints_clean(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["plan", "new", "--name", "checkout", "--flag", "new_checkout",
              "--users-per-day", "100000"],
    )  # fmt: skip
    assert result.exit_code == 0
    assert result.stdout.startswith("# yaml-language-server: $schema=plan.schema.json")
    path = tmp_path / "new.yaml"
    path.write_text(result.stdout, encoding="utf-8")
    assert runner.invoke(app, ["plan", "validate", str(path)]).exit_code == 0
    lint_result = runner.invoke(app, ["plan", "lint", str(path)])
    assert lint_result.output.strip().endswith("0 warnings")
    plan = load_plan(result.stdout, "new.yaml").plan
    stages = plan.phases[0].stages  # type: ignore[union-attr]
    assert [s.percentage for s in stages] == [6, 25, 50, 75, 100]
    assert all(s.hold.seconds >= 7_200 for s in stages)


def test_diff_names_changes_and_flags_weakening(
    tmp_path: Path, plan_file: Path
) -> None:
    new = tmp_path / "new.yaml"
    new.write_text(
        BASE.replace("percentage: 50", "percentage: 4")
        .replace("percentage: 5\n", "percentage: 3\n")
        .replace(
            "        criteria:\n          - {kind: count, metric: calls, below: 2, "
            "severity: high}\n",
            "",
        ),
        encoding="utf-8",
    )
    result = runner.invoke(
        app, ["plan", "diff", str(plan_file), str(new), "--passed", "Rollout/Canary"],
        env={"COLUMNS": "250"},
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "- phase 'Rollout', stage 'Half': percentage 50 → 4" in result.output
    assert "! phase 'Rollout', stage 'Half': criterion removed" in result.output
    assert "percentage 4 is below passed stage 'Canary' (5 %)" in result.output
    assert "3 flagged changes weaken the running plan" in result.output
    as_json = runner.invoke(app, ["plan", "diff", "--json", str(plan_file), str(new)])
    assert any(c["flagged"] for c in json.loads(as_json.stdout))


def test_diff_of_identical_plans(plan_file: Path) -> None:
    result = runner.invoke(app, ["plan", "diff", str(plan_file), str(plan_file)])
    assert result.exit_code == 0
    assert "no changes" in result.output


def test_diff_rejects_a_bad_passed_stage(plan_file: Path) -> None:
    result = runner.invoke(
        app, ["plan", "diff", str(plan_file), str(plan_file), "--passed", "Canary"]
    )
    assert result.exit_code == 1
    assert "--passed 'Canary': write it as PHASE/STAGE" in result.output
