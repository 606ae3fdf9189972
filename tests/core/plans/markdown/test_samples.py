"""Whatever the document marks as a sample stays a sample: answers become
`sample_answer`s (never `answer`s) and planning values stay to decide."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from flagramp.core.plans import RolloutPhase, load_plan
from flagramp.core.plans.markdown import TBD, Imported, import_markdown
from tests.core.plans.markdown.documents import SAMPLES, line_of
from tests.core.plans.markdown.fill import fill


@pytest.fixture(scope="module")
def imported() -> Imported:
    return import_markdown(SAMPLES, "plan.md")


@pytest.fixture(scope="module")
def data(imported: Imported) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(imported.yaml)
    return loaded


def test_answers_in_a_sample_section_are_sample_answers(data: dict[str, Any]) -> None:
    uat = data["phases"][0]
    assert uat["name"] == "Phase I: moderated production testing (UAT)"
    # The document gives the UAT phase no stage: one to decide records its results.
    stage = uat["stages"][0]
    assert (stage["name"], stage["percentage"], stage["hold"]) == (TBD, TBD, TBD)
    questions = stage["record"]["questions"]
    assert [
        (q["text"], q.get("sample_answer"), q.get("answer")) for q in questions
    ] == [
        ("Number of users", "2", None),
        (
            "Number of bugs identified / fixed",
            "2; Login bug: the service account lacked an id; fixed.",
            None,
        ),
        ("Was any downstream service affected by the change?", "No", None),
        ("Latency", "between 4 seconds and 23 seconds", None),
    ]


def test_an_answer_marked_sample_is_a_sample_and_the_rest_are_answers(
    imported: Imported, data: dict[str, Any]
) -> None:
    questions = data["phases"][1]["stages"][0]["record"]["questions"]
    assert len(questions) == 2  # the line pasted twice is asked once
    assert questions[0] == {
        "text": "Number of unique users",
        "answered_by": TBD,
        "sample_answer": "410",
    }
    assert questions[1]["answer"] == "none seen"
    line = line_of(SAMPLES, "410 (Sample)")
    assert imported.comment(
        "phases[1].stages[0].record.questions[0].sample_answer"
    ) == (f"a sample in the document (plan.md:{line}), never a result")


def test_a_draft_heading_is_the_status(data: dict[str, Any]) -> None:
    assert data["status"] == "DRAFT (In Progress)"
    assert data["title"] == "Compose Flow: MVP Release Plan"


def test_sample_planning_values_are_left_to_decide(
    imported: Imported, data: dict[str, Any]
) -> None:
    line = line_of(SAMPLES, "- Percentage of users: 25%")
    assert imported.comment("phases[1].stages[1].percentage").endswith(
        f'plan.md:{line} says "a sample: 25%"'
    )
    uat = data["phases"][0]
    assert uat["window"] == {"start": TBD, "end": TBD}
    assert uat["audience"] == {"description": TBD}
    line = line_of(SAMPLES, "Date range or test duration")
    assert imported.comment("phases[0].window.start").endswith(
        f'plan.md:{line} says "a sample: Aug 22 - Sept 4"'
    )


def test_a_sample_rollback_process_decides_no_action(
    imported: Imported, data: dict[str, Any]
) -> None:
    critical = data["rollback"]["severities"]["critical"]
    assert critical["action"] == TBD
    assert critical["steps"] == ["The feature toggle will be disabled for all users"]
    assert "marks this process as a sample" in imported.yaml


def test_stages_written_at_their_phases_heading_level_belong_to_it(
    data: dict[str, Any],
) -> None:
    assert len(data["phases"]) == 2
    canary = data["phases"][1]["stages"]
    # Stage B's planning is marked a sample: its values stay to decide.
    assert [(s["name"], s["percentage"], s["hold"]) for s in canary] == [
        ("Stage A: Canary", 5, "2h"),
        ("Stage B: moderate", TBD, TBD),
    ]


def test_samples_never_load_as_answers(imported: Imported) -> None:
    plan = load_plan(fill(imported), "draft.yaml").plan
    questions = [
        q
        for phase in plan.phases
        if isinstance(phase, RolloutPhase)
        for stage in phase.stages
        for q in stage.record.questions
    ]
    samples = {q.text: q.sample_answer for q in questions if q.sample_answer}
    assert samples["Number of users"] == "2"
    assert samples["Number of unique users"] == "410"
    assert [q.answer for q in questions if q.answer] == ["none seen"]
