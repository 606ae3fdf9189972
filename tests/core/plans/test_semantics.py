"""How a plan runs (core.plans.semantics): shares, α, exits, gates, resume."""

from __future__ import annotations

import pytest

from flagramp.core.plans import (
    DEFAULT_ALPHA,
    GoNoGo,
    Plan,
    ResumeAt,
    RolloutPhase,
    alpha_share,
    entry_gates,
    last_step_to_full,
    load_plan,
    resume_stage,
    stage_exit,
    step_back_to,
    treatment_percentage,
)
from tests.core.plans.sample import BASE

_AUDIENCE = "audience: {eligible: oracle}"


def _plan(text: str = BASE) -> Plan:
    return load_plan(text, "plan.yaml").plan


def _phase(plan: Plan, index: int = 0) -> RolloutPhase:
    phase = plan.phases[index]
    assert isinstance(phase, RolloutPhase)
    return phase


@pytest.mark.parametrize(
    ("holdback", "percentage", "expected"),
    [
        (0, "5", 5.0),
        (5, "100", 95.0),
        (5, "25", 23.75),
        # Rounded down to three decimals: treatment never exceeds the plan.
        (5, "0.125", 0.118),
        (33.333, "100", 66.667),
    ],
)
def test_treatment_percentage_is_the_stage_share_after_the_holdback(
    holdback: float, percentage: str, expected: float
) -> None:
    until = "\n    holdback_until: go_live" if holdback else ""
    text = BASE.replace(_AUDIENCE, f"{_AUDIENCE}\n    holdback: {holdback}{until}")
    # The canary takes small shares; the Half stage the full one.
    old, index = (
        ("percentage: 5\n", 0) if percentage != "100" else ("percentage: 50", 1)
    )
    phase = _phase(_plan(text.replace(old, f"percentage: {percentage}\n", 1)))
    assert treatment_percentage(phase, phase.stages[index]) == expected


_TWO_TESTS = (
    "          - {kind: absolute, metric: error_rate, below: 5, mde: 1, "
    "severity: critical}\n"
    "          - {kind: absolute, metric: error_rate, below: 9, mde: 1, "
    "severity: high, mode: observe}\n"
    "          - {kind: count, metric: calls, below: 2, severity: high}\n"
    "          - {kind: absolute, metric: error_rate, below: 7, mde: 1, "
    "severity: high}\n"
)


def test_alpha_is_split_over_acting_tests_only() -> None:
    text = BASE.replace(
        "          - {kind: absolute, metric: error_rate, below: 5, mde: 1, "
        "severity: critical}\n        go_no_go",
        _TWO_TESTS + "        go_no_go",
        1,
    )
    stage = _phase(_plan(text)).stages[0]
    shares = [alpha_share(stage, i) for i in range(4)]
    # Two acting tests share α; the observe-mode test is evaluated at the share
    # a third would get and spends none; the count limit spends nothing.
    assert shares == pytest.approx(
        [DEFAULT_ALPHA / 2, DEFAULT_ALPHA / 3, 0.0, DEFAULT_ALPHA / 2]
    )


def test_a_stage_moves_on_by_its_go_no_go_and_asks_it_when_undecided() -> None:
    plan = _plan()
    exit_ = stage_exit(plan, 0, 0)
    assert not exit_.by_go_no_go_only and not exit_.completes_phase
    assert [g.roles for g in exit_.gates] == [("eng", "po")]
    assert exit_.undecided_asks == ("eng", "po")
    assert exit_.max_time.text == "4h"  # twice the 2h hold


def test_without_a_go_no_go_the_product_owner_is_asked() -> None:
    text = BASE.replace(
        "        go_no_go: [eng, po]\n      - name: Half", "      - name: Half"
    )
    assert stage_exit(_plan(text), 0, 0).undecided_asks == ("po",)


def test_the_last_stage_at_100_completes_the_phase() -> None:
    plan = _plan()
    last = stage_exit(plan, 0, 2)
    assert last.completes_phase and last.gates == ()


def test_the_go_live_gate_is_asked_before_the_last_step_to_100() -> None:
    text = BASE + "go_live:\n  go_no_go: [po]\n"
    plan = _plan(text)
    assert last_step_to_full(plan) == (0, 2)
    gates = stage_exit(plan, 0, 1).gates
    assert gates == (GoNoGo(roles=("eng", "po")), GoNoGo(roles=("po",)))
    assert stage_exit(plan, 0, 0).gates == (GoNoGo(roles=("eng", "po")),)


def test_a_phase_gate_is_asked_before_its_first_flag_change() -> None:
    text = BASE.replace(_AUDIENCE, _AUDIENCE + "\n    go_no_go: [po]")
    assert entry_gates(_plan(text), 0) == (GoNoGo(roles=("po",)),)
    assert entry_gates(_plan(), 0) == ()


def test_a_uat_stage_exits_by_go_no_go_only() -> None:
    gate = "severity: critical}\n        go_no_go"
    text = (
        BASE.replace("percentage: 5\n", "percentage: 0\n", 1)
        .replace(_AUDIENCE, "audience: {eligible: oracle, allow_list: [t@va.gov]}")
        .replace(gate, "severity: critical, mode: observe}\n        go_no_go", 1)
    )
    assert stage_exit(_plan(text), 0, 0).by_go_no_go_only


@pytest.mark.parametrize(("stage", "expected"), [(0, None), (1, 0), (2, 1)])
def test_step_back_goes_one_stage_down_and_from_the_first_to_zero(
    stage: int, expected: int | None
) -> None:
    assert step_back_to(stage) == expected


@pytest.mark.parametrize(
    ("resume_at", "stage", "expected"),
    [
        (ResumeAt.FIRST_STAGE, 2, 0),
        (ResumeAt.PREVIOUS_STAGE, 2, 1),
        (ResumeAt.PREVIOUS_STAGE, 0, 0),
        (ResumeAt.SAME_STAGE, 2, 2),
    ],
)
def test_resume_after_re_enable(resume_at: ResumeAt, stage: int, expected: int) -> None:
    assert resume_stage(resume_at, stage) == expected
