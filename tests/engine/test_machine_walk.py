"""The example plans walked through their stages with healthy evidence."""

from __future__ import annotations

import datetime as dt

from flagramp.core.plans import RolloutPhase, treatment_percentage
from flagramp.engine.commands import FinishManualPhase
from flagramp.engine.run_state import RunStatus
from tests.engine.machine_kit import Run, context_of, example


def test_vaos_walks_healthy_through_every_stage_to_go_live() -> None:
    plan = example("vaos-service-integration")
    run = Run(context_of(plan))
    assert run.status() is RunStatus.WAITING_PREREQUISITES
    assert "hsrm_team" in run.state.waiting_for()
    run.sign_all()
    # No window and no entry gate: the first stage starts on the last signature.
    assert run.status() is RunStatus.STAGE_RUNNING
    assert (run.state.phase, run.state.stage) == (0, 0)
    run.advance(60 * 24 * 30, until=lambda s: s.is_live)
    assert run.status() is RunStatus.GO_LIVE_WATCHING
    results = run.state.stage_results
    assert len(results) == 12
    assert [r["decision"] for r in results] == ["passed"] * 12
    # Each toggle ends at 100 %.
    for _, phase in plan.rollout_phases():
        for flag in phase.flags:
            assert run.flags[flag].percentage == 100.0
    entered = [e for s in run.steps for e in s.events if e.kind == "stage_entered"]
    assert [e.data["percentage"] for e in entered[:3]] == [5.0, 25.0, 100.0]
    # The go-live gate came before the plan's last step to 100 %.
    asked = [e for s in run.steps for e in s.events if e.kind == "go_no_go_asked"]
    assert any(
        e.data["roles"] == ["product_owner", "business_stakeholders"] for e in asked
    )


def test_a_stage_never_leaves_before_its_hold() -> None:
    plan = example("vaos-service-integration")
    run = Run(context_of(plan))
    run.sign_all()
    run.advance(50)
    assert run.state.stage == 0
    run.advance(20)
    assert run.state.stage == 1
    phase = plan.phases[0]
    assert isinstance(phase, RolloutPhase)
    assert run.flags[phase.flags[0]].percentage == treatment_percentage(
        phase, phase.stages[1]
    )


def test_secure_messaging_walks_uat_and_the_staged_rollout_to_go_live() -> None:
    plan = example("secure-messaging-oracle-health")
    run = Run(context_of(plan), dt.datetime(2025, 8, 21, 12, tzinfo=dt.UTC))
    run.sign_all()
    run.advance(60 * 24 * 200, every=60, until=lambda s: s.is_live)
    assert run.status() is RunStatus.GO_LIVE_WATCHING
    decisions = [r["decision"] for r in run.state.stage_results]
    assert decisions == ["passed"] * 6
    # 100 % less the 5 % holdback until go live, both flags of the phase
    # together; the holdback is released at go live.
    entered = [e for s in run.steps for e in s.events if e.kind == "stage_entered"]
    assert entered[-1].data["percentage"] == 95.0
    assert run.flags["mhv_secure_messaging_curated_list_flow"].percentage == 100.0
    assert run.flags["mhv_secure_messaging_recent_recipients"].percentage == 100.0
    entered = [e for s in run.steps for e in s.events if e.kind == "stage_entered"]
    assert entered[1].data["percentage"] == 4.75


def test_uae_walks_the_dark_deploy_and_its_manual_phase_to_completion() -> None:
    plan = example("uae-appointments-dark-deploy")
    run = Run(context_of(plan))
    run.sign_all()
    run.advance(60 * 24 * 40, every=60, until=lambda s: s.phase == 1)
    assert run.status() is RunStatus.MANUAL_PHASE
    assert run.flags["va_online_scheduling_uae_oracle_health"].percentage == 100
    assert run.flags["va_online_scheduling_uae_oracle_health"].eligible == (
        "oracle_patients"
    )
    run.now += dt.timedelta(weeks=4)
    run.do(FinishManualPhase("uae-product-owner@va.gov", done=(0, 1)))
    assert run.status() is RunStatus.COMPLETED
