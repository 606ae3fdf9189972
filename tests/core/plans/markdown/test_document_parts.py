"""The template's other parts land where the plan keeps them."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import yaml

from flagramp.core.plans import load_plan
from flagramp.core.plans.markdown import TBD, Imported, import_markdown
from tests.core.plans.markdown.documents import PARTS, line_of
from tests.core.plans.markdown.fill import fill


@pytest.fixture(scope="module")
def imported() -> Imported:
    return import_markdown(PARTS, "plan.md")


@pytest.fixture(scope="module")
def data(imported: Imported) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(imported.yaml)
    return loaded


def test_header_parts(data: dict[str, Any]) -> None:
    assert data["name"] == "appointments-routing"
    assert data["status"] == "Draft"
    assert data["summary"] == (
        "Appointments for Oracle Health patients are fetched from the new service."
    )
    assert data["links"] == [
        {"title": "Runbook", "url": "https://runbooks.example.gov/routing"},
        {"title": "routing dashboard", "url": "https://dash.example.gov/routing"},
    ]
    assert data["risks"] == ["The new service is slower for some patients."]
    assert data["flags"] == TBD  # the document names no toggle


def test_metric_tables_and_criteria_text_are_hints(imported: Imported) -> None:
    hints = [line for line in imported.yaml.splitlines() if "# hint (" in line]
    assert any("Error rates - compared with the base" in h for h in hints)
    assert any("Fetch failures — count of failed fetches" in h for h in hints)
    assert any("API error rate: Baseline ~X%" in h for h in hints)
    # A glossary is not about metrics; an empty row says nothing.
    assert not any("Unified Appointments Experience" in h for h in hints)


def test_stages_outside_a_phase_heading_form_a_phase_to_name(
    imported: Imported, data: dict[str, Any]
) -> None:
    (phase,) = data["phases"]
    assert phase["name"] == TBD
    stage_a, stage_b = phase["stages"]
    # The planning line says 5 %, the heading 10 %: a person decides.
    assert stage_a["percentage"] == TBD
    line = line_of(PARTS, "- Percentage of users: 5%")
    assert imported.comment("phases[0].stages[0].percentage").endswith(
        f'plan.md:{line} says "5% here, 10% of users in the heading (line {line - 2})"'
    )
    assert stage_a["hold"] == "2d"
    assert imported.comment("phases[0].stages[0].hold") == (
        f'from plan.md:{line + 1} ("2 days (weekdays only)")'
    )
    # A share only in the heading is the stage's share.
    assert (stage_b["percentage"], stage_b["hold"]) == (40, "3d")
    questions = stage_a["record"]["questions"]
    assert questions[0]["answer"] == "Timeout on the first fetch"
    notes = [line for line in imported.yaml.splitlines() if "also says" in line]
    assert any("Enable the flag for a random 5 %" in n for n in notes)
    # Task items after the rollout are what the team does next, not prerequisites.
    assert "prerequisites" not in data
    assert any("Begin telling users about the new view" in n for n in notes)


def test_a_severity_named_twice_is_one_with_both_steps(
    imported: Imported, data: dict[str, Any]
) -> None:
    critical = data["rollback"]["severities"]["critical"]
    assert critical["steps"] == [
        "The feature toggle will be disabled for all users",
        "Page the on-call engineer",
        "The toggle will remain enabled with no reduction in availability",
    ]
    # The two say different things: a person decides.
    assert critical["action"] == TBD
    first = line_of(PARTS, "disabled for all users")
    second = line_of(PARTS, "no reduction in availability")
    assert imported.comment("rollback.severities.critical.action").endswith(
        f'"disable_all at line {first}, continue at line {second}"'
    )


def test_a_rollback_process_without_severities_leaves_them_to_decide() -> None:
    imported = import_markdown(
        "## Phase I: routing_new_service\n\n### Stage A: Canary\n\n"
        "- Percentage of users: 5%\n\n## Rollback Plan\n\n"
        "1. Disable the feature flag\n2. Verify traffic is back\n",
        "plan.md",
    )
    rollback = yaml.safe_load(imported.yaml)["rollback"]
    assert rollback["procedure"] == [
        "Disable the feature flag",
        "Verify traffic is back",
    ]
    assert rollback["severities"] == TBD


def test_post_launch_questions_keep_their_nested_lines(data: dict[str, Any]) -> None:
    assert [q["text"] for q in data["go_live"]["questions"]] == [
        "Did booking get faster? for Oracle patients?"
    ]


def test_go_live_date_target_and_checkpoint(data: dict[str, Any]) -> None:
    go_live = data["go_live"]
    assert go_live["date"] == dt.date(2027, 3, 16)
    assert go_live["kpis"] == [
        {
            "name": "kpi_1",
            "description": "booking success rate at least 97%",
            "metric": TBD,
            "above": 97,
        }
    ]
    assert go_live["checkpoints"][0]["after"] == "2w"


def test_it_validates_once_filled(imported: Imported) -> None:
    plan = load_plan(fill(imported), "draft.yaml").plan
    assert plan.go_live is not None and plan.go_live.kpis[0].above == 97
    assert plan.risks == ("The new service is slower for some patients.",)


def test_parts_written_under_a_phase_heading_are_the_plans_own() -> None:
    imported = import_markdown(
        "## Phase I: routing_new_service\n\n### Stage A: Canary\n\n"
        "- Percentage of users: 5%\n\n### Rollback\n\n#### If a low severity issue\n"
        "1. The toggle will remain enabled with no reduction in availability\n\n"
        "### Go Live\n\n- Desired date: 2027-05-03\n",
        "plan.md",
    )
    data = yaml.safe_load(imported.yaml)
    assert data["rollback"]["severities"]["low"]["action"] == "continue"
    assert data["go_live"]["date"] == dt.date(2027, 5, 3)
    assert [s["name"] for s in data["phases"][0]["stages"]] == ["Stage A: Canary"]
