"""A four-toggle plan: phases in the document's order, each number in its field
with its line, each blank a TBD, and a plan that loads once the TBDs are filled."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from flagramp.core.plans import PlanInvalid, RolloutPhase, load_plan
from flagramp.core.plans.markdown import TBD, Imported, import_markdown
from tests.core.plans.markdown.documents import FOUR_TOGGLES, line_of
from tests.core.plans.markdown.fill import fill

PHASE_FLAGS = [
    "sched_facilities_service_v2",
    "sched_service_requests",
    "sched_service_cc_appointments",
    "sched_service_va_appointments",
]


@pytest.fixture(scope="module")
def imported() -> Imported:
    return import_markdown(FOUR_TOGGLES, "plan.md")


@pytest.fixture(scope="module")
def data(imported: Imported) -> dict[str, Any]:
    loaded = yaml.safe_load(imported.yaml)
    assert isinstance(loaded, dict)
    return loaded


def _phase_line(numeral: str) -> int:
    return line_of(FOUR_TOGGLES, f"## Phase {numeral}:")


def test_phases_come_out_in_the_documents_order(data: dict[str, Any]) -> None:
    # The toggles are listed in another order (cc appointments first).
    assert [p["flags"] for p in data["phases"]] == [[f] for f in PHASE_FLAGS]
    assert [p["name"] for p in data["phases"]] == [
        f"Phase {n}: {f}"
        for n, f in zip(("I", "II", "III", "IV"), PHASE_FLAGS, strict=True)
    ]
    assert list(data["flags"]) == [
        "sched_service_cc_appointments",
        "sched_facilities_service_v2",
        "sched_service_requests",
        "sched_service_va_appointments",
    ]
    assert data["flags"]["sched_service_requests"] == {
        "description": "Request-related services"
    }


@pytest.mark.parametrize(
    ("phase", "numeral", "share", "hold", "hold_written"),
    [
        (0, "I", 5, "1h", "1 hr"),
        (1, "II", 5, "2h", "2 hrs"),
        (2, "III", 10, TBD, ""),
        (3, "IV", 5, "1h", "1 hr"),
    ],
)
def test_stage_a_shares_and_holds_land_in_their_fields_with_their_lines(
    imported: Imported,
    data: dict[str, Any],
    phase: int,
    numeral: str,
    share: int,
    hold: str,
    hold_written: str,
) -> None:
    stage = data["phases"][phase]["stages"][0]
    assert stage["name"] == "Stage A: Canary"
    assert stage["percentage"] == share
    assert stage["hold"] == hold
    start = _phase_line(numeral)
    at = f"phases[{phase}].stages[0]"
    share_line = line_of(FOUR_TOGGLES, "Percentage of users:", start)
    assert imported.comment(f"{at}.percentage") == (
        f'from plan.md:{share_line} ("{share}%")'
    )
    hold_line = line_of(FOUR_TOGGLES, "Length of time:", start)
    if hold == TBD:
        assert imported.comment(f"{at}.hold").endswith(
            f"(blank at plan.md:{hold_line})"
        )
    else:
        assert imported.comment(f"{at}.hold") == (
            f'from plan.md:{hold_line} ("{hold_written}")'
        )


@pytest.mark.parametrize("phase", range(4))
def test_every_stage_b_blank_is_a_tbd_at_its_line(
    imported: Imported, data: dict[str, Any], phase: int
) -> None:
    stage = data["phases"][phase]["stages"][1]
    assert (stage["name"], stage["percentage"], stage["hold"]) == (
        "Stage B: moderate",
        TBD,
        TBD,
    )
    start = line_of(
        FOUR_TOGGLES, "### Stage B", _phase_line(("I", "II", "III", "IV")[phase])
    )
    for field, label in (
        ("percentage", "Percentage of users:"),
        ("hold", "Length of time:"),
    ):
        line = line_of(FOUR_TOGGLES, label, start)
        assert imported.comment(f"phases[{phase}].stages[1].{field}").startswith(
            "decide: "
        )
        assert imported.comment(f"phases[{phase}].stages[1].{field}").endswith(
            f"(blank at plan.md:{line})"
        )


def test_template_blanks_become_tbds_not_values(data: dict[str, Any]) -> None:
    phase = data["phases"][0]
    assert phase["window"] == {"start": TBD, "end": TBD}  # "[mm/dd/yy - mm/dd/yy]"
    assert phase["audience"] == {"description": TBD}  # "[lorem ipsum]"
    assert phase["dashboards"] == [{"title": TBD, "url": TBD}]  # "[link here]"
    assert data["go_live"]["date"] == TBD  # "mm/dd/yy"
    kpis = data["go_live"]["kpis"]
    assert kpis[0] == {"name": "kpi_1", "description": TBD, "metric": TBD, "below": TBD}
    # A KPI the document gives: its words and its target, the metric to decide.
    assert kpis[1] == {
        "name": "kpi_2",
        "description": "booking error rate < 2%",
        "metric": TBD,
        "below": 2,
    }
    questions = phase["stages"][0]["record"]["questions"]
    assert questions[0]["yes_no"] is True  # "yes/no, lorem ipsum"
    assert all("answer" not in q and "sample_answer" not in q for q in questions)


def test_success_criteria_hints_are_comments_not_criteria(
    imported: Imported, data: dict[str, Any]
) -> None:
    hint_line = line_of(FOUR_TOGGLES, "things like")
    assert (
        f"# hint (the template's example, plan.md:{hint_line}): abandonment rate < 20%"
        in imported.yaml
    )
    for phase in data["phases"]:
        for stage in phase["stages"]:
            assert stage["criteria"] == TBD
    values = [v for v in _scalars(data) if isinstance(v, str)]
    assert not any("abandonment" in v or "error rate < 5%" in v for v in values)


def test_go_live_checkpoints_and_questions(data: dict[str, Any]) -> None:
    go_live = data["go_live"]
    assert go_live["go_no_go"] == {
        "roles": TBD,
        "note": "https://example.gov/go-no-go-template.md",
    }
    assert [(c["name"], c["after"]) for c in go_live["checkpoints"]] == [
        ("1-week results", "1w"),
        ("1-month results", "1mo"),
    ]
    week = go_live["checkpoints"][0]["record"]["questions"]
    # The KPI actuals are recorded with the KPIs, not asked again.
    assert [q["text"] for q in week] == [
        "Number of unique users",
        "Any issues with VA handling/processing?",
        "Any UX changes necessary based on the logs, or feedback on user "
        "challenges, or VA challenges?",
    ]
    assert week[2]["follow_up"]["text"] == "If yes, what"
    assert len(go_live["questions"]) == 2


def test_the_draft_does_not_load_until_the_tbds_are_filled(imported: Imported) -> None:
    with pytest.raises(PlanInvalid) as caught:
        load_plan(imported.yaml, "draft.yaml")
    tbd_lines = {line for line, _ in imported.tbds}
    assert {p.line for p in caught.value.problems} <= tbd_lines


def test_the_draft_validates_once_the_tbds_are_filled(imported: Imported) -> None:
    loaded = load_plan(fill(imported), "draft.yaml")
    phases = [p for _, p in loaded.plan.rollout_phases()]
    assert [p.flags for p in phases] == [(f,) for f in PHASE_FLAGS]
    assert [p.stages[0].percentage for p in phases] == [5, 5, 10, 5]
    # The filled hold of phase III is the filler's; the others are the document's.
    assert [p.stages[0].hold.text for p in phases] == ["1h", "2h", "1h", "1h"]
    assert all(isinstance(p, RolloutPhase) for p in loaded.plan.phases)
    assert [q.text for q in loaded.plan.prerequisites] == [
        "The booking backend is live in Production",
        "The Product Owner approved the launch",
    ]


def _scalars(node: object) -> list[object]:
    if isinstance(node, dict):
        return [v for value in node.values() for v in _scalars(value)]
    if isinstance(node, list):
        return [v for value in node for v in _scalars(value)]
    return [node]
