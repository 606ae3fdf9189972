"""`flagramp demo --plan` on the other examples, each trimmed to stay fast.

The full runs of every example take half a minute to minutes each
(`bench/demo_plans.py`); here each plan keeps one rollout phase of two short
stages, so the test shows that the simulator feeds every metric kind the plan
uses (share_above included) and the run completes with numbers in its report.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from flagramp.cli.app import app

EXAMPLES = Path(__file__).parents[2] / "examples"


def _trimmed(name: str, phase: int, stages: tuple[int, int], out: Path) -> Path:
    """The example with one rollout phase of two stages held an hour each."""
    plan: dict[str, Any] = yaml.safe_load((EXAMPLES / name).read_text())
    kept = plan["phases"][phase]
    kept.pop("window", None)
    kept["stages"] = [kept["stages"][i] for i in stages]
    for stage in kept["stages"]:
        stage["hold"] = "1h"
        stage["max_time"] = "4h"
        stage.pop("min_sample", None)
    plan["phases"] = [kept]
    for checkpoint in plan.get("go_live", {}).get("checkpoints", []):
        checkpoint["after"] = "1w"
    path = out / name
    path.write_text(yaml.safe_dump(plan, sort_keys=False))
    return path


@pytest.mark.parametrize(
    ("name", "phase", "stages"),
    [
        ("secure-messaging-oracle-health.yaml", 1, (0, 4)),
        ("uae-appointments-dark-deploy.yaml", 0, (1, 3)),
    ],
)
def test_a_trimmed_example_runs_to_completion(
    tmp_path: Path, name: str, phase: int, stages: tuple[int, int]
) -> None:
    plan = _trimmed(name, phase, stages, tmp_path)
    out = tmp_path / "out"
    result = CliRunner().invoke(
        app, ["demo", "--plan", str(plan), "--fast", "--no-inject", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "completed after" in result.output
    assert "injected: nothing" in result.output
    report = (out / "release-report.md").read_text()
    # The stages' criteria were measured: the report has percentages in it.
    assert re.search(r"\d\.\d+ ?%", report), report


def test_a_promotion_plan_is_refused_in_one_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        [
            "demo",
            "--plan",
            str(EXAMPLES / "tmp-deployment.yaml"),
            "--out",
            str(tmp_path),
        ],
    )
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert "promotion plan" in lines[0] and "flagramp plan start" in lines[0]
