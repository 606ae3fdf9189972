"""A two-toggle plan written with bold stage lines: 5, 25, 50, 75 and 100 %, Stage A
held "1 day", results already given, and a rollback process by severity."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from flagramp.core.plans import Action, RolloutPhase, Severity, load_plan
from flagramp.core.plans.markdown import TBD, Imported, import_markdown
from tests.core.plans.markdown.documents import TWO_TOGGLES, line_of
from tests.core.plans.markdown.fill import fill

FLAGS = ["compose_curated_list_flow", "compose_recent_recipients"]


@pytest.fixture(scope="module")
def imported() -> Imported:
    return import_markdown(TWO_TOGGLES, "plan.md")


@pytest.fixture(scope="module")
def phase(imported: Imported) -> dict[str, Any]:
    data = yaml.safe_load(imported.yaml)
    assert len(data["phases"]) == 1
    found: dict[str, Any] = data["phases"][0]
    return found


def test_both_toggles_are_declared_and_the_phase_turns_both_on(
    imported: Imported, phase: dict[str, Any]
) -> None:
    data = yaml.safe_load(imported.yaml)
    assert data["flags"] == {
        "compose_curated_list_flow": {"description": "The curated care team list"},
        # "Add description here-XX" is the template's text, not a description.
        "compose_recent_recipients": {"description": TBD},
    }
    assert phase["flags"] == FLAGS
    assert phase["name"] == "Overall Roll out Plan: Staged Release (ALL USERS)"


def test_stages_come_out_at_5_25_50_75_and_100(phase: dict[str, Any]) -> None:
    stages = phase["stages"]
    assert [s["percentage"] for s in stages] == [5, 25, 50, 75, 100]
    assert [s["name"] for s in stages] == [
        f"Stage {letter}: {share}% of users"
        for letter, share in zip("ABCDE", (5, 25, 50, 75, 100), strict=True)
    ]


def test_stage_a_is_held_one_day_and_the_blank_holds_are_tbds(
    imported: Imported, phase: dict[str, Any]
) -> None:
    assert [s["hold"] for s in phase["stages"]] == ["1d", TBD, TBD, TBD, TBD]
    line = line_of(TWO_TOGGLES, "-Length of time: 1 day")
    assert imported.comment("phases[0].stages[0].hold") == (
        f'from plan.md:{line} ("1 day, January 15 (Update Here)")'
    )
    # "XX" is a blank too, at its own line.
    xx = line_of(TWO_TOGGLES, "-Length of time: XX")
    assert imported.comment("phases[0].stages[3].hold").endswith(
        f"(blank at plan.md:{xx})"
    )


def test_planning_written_outside_a_phase_heading_belongs_to_the_stages(
    imported: Imported, phase: dict[str, Any]
) -> None:
    assert phase["window"] == {
        "start": yaml.safe_load("2027-01-15"),
        "end": yaml.safe_load("2027-02-27"),
    }
    assert phase["audience"] == {"description": "By using a feature flag."}
    assert phase["dashboards"] == [
        {"title": "Compose dashboard", "url": "https://dashboards.example.gov/compose"}
    ]
    # Who watches is named in words; the roles are for people to decide.
    assert phase["monitored_by"] == TBD
    assert "UX Lead, Engineering Lead, and Product Manager" in imported.comment(
        "phases[0].monitored_by"
    )


def test_answers_given_are_answers_and_blanks_are_not(phase: dict[str, Any]) -> None:
    questions = phase["stages"][0]["record"]["questions"]
    assert questions == [
        {"text": "Number of unique users", "answered_by": TBD},
        {
            "text": "Was any downstream service affected by the change?",
            "answered_by": TBD,
            "answer": "No",
        },
        {"text": "Types of errors logged", "answered_by": TBD},
    ]
    last = phase["stages"][4]["record"]["questions"]
    assert last == [
        {
            "text": "Was any downstream service affected by the change?",
            "yes_no": True,
            "answered_by": TBD,
            "answer": "no",
        }
    ]


def test_rollback_actions_only_where_the_steps_say_them_plainly(
    imported: Imported,
) -> None:
    severities = yaml.safe_load(imported.yaml)["rollback"]["severities"]
    assert severities["critical"]["action"] == "disable_all"
    assert severities["low"]["action"] == "continue"
    # "possibly at a reduction of availability": step back or continue.
    assert severities["high"]["action"] == TBD
    assert "possibly at a reduction" in imported.comment(
        "rollback.severities.high.action"
    )
    assert severities["high"]["revert_required"] is True


def test_the_draft_validates_once_the_tbds_are_filled(imported: Imported) -> None:
    plan = load_plan(fill(imported), "draft.yaml").plan
    phase = plan.phases[0]
    assert isinstance(phase, RolloutPhase)
    assert phase.flags == tuple(FLAGS)
    assert [s.percentage for s in phase.stages] == [5, 25, 50, 75, 100]
    assert phase.stages[0].hold.text == "1d"
    assert plan.rollback is not None
    assert plan.rollback.severities[Severity.CRITICAL].action is Action.DISABLE_ALL
    assert plan.rollback.severities[Severity.LOW].action is Action.CONTINUE
    assert plan.hypothesis is not None and plan.hypothesis.startswith(
        "If we change the compose flow"
    )
    assert plan.go_live is not None
    assert plan.go_live.questions[1].text == (
        "Pie chart: What % of users send messages from each place: the web the "
        "mobile app"
    )
