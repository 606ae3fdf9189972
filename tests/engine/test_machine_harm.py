"""Harm by mode and severity: pause, roll back, kill, verify, re-enable."""

from __future__ import annotations

import datetime as dt

import pytest

from flagramp.core.plans import RolloutPhase
from flagramp.core.severity import Severity
from flagramp.engine.commands import (
    CommandRefused,
    ConfirmRevert,
    Kill,
    RaiseIncident,
    ReEnable,
    Resume,
)
from flagramp.engine.evaluation import Observation, PhaseWatch
from flagramp.engine.notify import NoticeKind
from flagramp.engine.run_state import RunStatus
from tests.engine.machine_kit import (
    Run,
    context_of,
    evaluation,
    example,
    harmful,
    reach,
    vaos,
)

PO = "vaos-product-owner@va.gov"
ENG = "vaos-eng-lead@va.gov"
PHASE_III_FLAG = "va_online_scheduling_vaos_service_cc_appointments"


def _refused(run: Run, cmd: object) -> str:
    with pytest.raises(CommandRefused) as caught:
        run.do(cmd)  # type: ignore[arg-type]
    return caught.value.code


def test_a_critical_rollback_criterion_turns_the_phase_off_for_everyone() -> None:
    run = Run(vaos())
    reach(run, 2, 1)
    step = run.tick(harmful("errors")(run.context, run.state, run.now))
    assert run.status() is RunStatus.ROLLED_BACK
    assert [(m.flag, m.percentage, m.allow_list) for m in step.flag_moves] == [
        (PHASE_III_FLAG, 0.0, ())
    ]
    # Earlier phases' flags are left where their phase left them.
    assert run.flags["va_online_scheduling_facilities_service_v2"].percentage == 100
    (incident,) = step.incidents
    assert incident.record["trigger"] == "criterion"
    assert incident.record["criterion"] == "errors"
    assert incident.record["severity"] == "critical"
    assert incident.record["users_affected"] == 100_000
    assert {n.kind for n in step.notices} == {NoticeKind.ROLLED_BACK}
    assert step.notices[0].roles == ("product_owner",)
    # Nothing climbs without an approved re-enable.
    run.advance(60 * 24 * 3)
    assert run.status() is RunStatus.ROLLED_BACK
    assert run.flags[PHASE_III_FLAG].percentage == 0


def test_re_enable_needs_the_approver_and_a_root_cause_and_resumes_lower() -> None:
    run = Run(vaos())
    reach(run, 2, 1)
    run.tick(harmful("errors")(run.context, run.state, run.now))
    assert _refused(run, Resume(PO)) == "not_waiting_for_that"
    assert _refused(run, ReEnable(ENG, "fixed")) == "not_your_role"
    assert _refused(run, ReEnable(PO, "  ")) == "needs_root_cause"
    assert _refused(run, ReEnable(PO, "fixed", stage=2)) == "stage_too_high"
    step = run.do(ReEnable(PO, "a null pointer in the CC adapter"))
    # resume_at: previous_stage — back to Stage A's 10 %.
    assert run.status() is RunStatus.STAGE_RUNNING
    assert run.state.stage == 0
    assert [m.percentage for m in step.flag_moves] == [10.0]
    (incident,) = step.incidents
    assert incident.record["root_cause"] == "a null pointer in the CC adapter"
    assert incident.record["re_enabled_by"] == PO
    assert incident.record["status"] == "closed"
    assert run.state.incidents == ()
    run.advance(60 * 24 * 30, until=lambda s: s.is_live)
    assert run.status() is RunStatus.GO_LIVE_WATCHING


def test_a_rollback_is_verified_when_no_treatment_arrives_after_two_windows() -> None:
    run = Run(vaos())
    reach(run, 2, 1)
    run.tick(harmful("errors")(run.context, run.state, run.now))
    info = run.state.rollback
    assert info is not None
    run.now = info.judged_at - dt.timedelta(seconds=1)
    assert run.tick(Observation(None, treatment_exposures_after=0)).events == ()
    run.now = info.judged_at
    step = run.tick(Observation(None, treatment_exposures_after=0))
    assert [e.kind for e in step.events] == ["rollback_verified"]
    assert step.incidents[0].record["verified_at"] == run.now.isoformat()


def test_treatment_after_a_rollback_raises_an_alert() -> None:
    run = Run(vaos())
    reach(run, 2, 1)
    run.tick(harmful("errors")(run.context, run.state, run.now))
    assert run.state.rollback is not None
    run.now = run.state.rollback.judged_at
    step = run.tick(Observation(None, treatment_exposures_after=7))
    assert [e.kind for e in step.events] == ["rollback_not_effective"]
    assert step.notices[0].data["alert"] is True
    assert "eng_lead" in step.notices[0].roles


def test_a_pause_mode_criterion_pauses_and_asks_the_stage_gate_roles() -> None:
    run = Run(vaos())
    reach(run, 0, 1)
    step = run.tick(harmful("abandonment")(run.context, run.state, run.now))
    assert run.status() is RunStatus.PAUSED
    assert step.flag_moves == ()
    assert step.notices[0].kind is NoticeKind.PAUSED
    assert step.notices[0].roles == ("product_owner",)
    run.do(Resume(ENG, "looked at it"))
    assert run.status() is RunStatus.STAGE_RUNNING
    # The same finding does not pause the stage again once a person resumed.
    run.tick(harmful("abandonment")(run.context, run.state, run.now))
    assert run.status() is RunStatus.STAGE_RUNNING


def test_a_high_incident_steps_back_and_waits_for_the_revert() -> None:
    run = Run(vaos())
    reach(run, 2, 2)
    step = run.do(RaiseIncident(ENG, Severity.HIGH, "latency on the dashboard"))
    assert [m.percentage for m in step.flag_moves] == [25.0]
    assert run.status() is RunStatus.ROLLED_BACK
    assert run.state.live_stage == 1
    assert step.incidents[0].record["trigger"] == "manual"
    assert _refused(run, ReEnable(PO, "reverted")) == "revert_not_confirmed"
    assert _refused(run, ConfirmRevert(PO)) == "not_your_role"
    run.do(ConfirmRevert(ENG, "revert deployed"))
    run.do(ReEnable(PO, "bad cache key"))
    # previous_stage of Stage C is Stage B, run again from its start.
    assert (run.state.stage, run.status()) == (1, RunStatus.STAGE_RUNNING)
    assert run.flags[PHASE_III_FLAG].percentage == 25


def test_a_step_back_from_the_first_stage_leaves_the_allow_list_and_pauses() -> None:
    plan = example("secure-messaging-oracle-health")
    run = Run(context_of(plan), dt.datetime(2025, 8, 21, 12, tzinfo=dt.UTC))
    run.sign_all()
    run.advance(
        60 * 24 * 200, every=60, until=lambda s: s.phase == 1 and s.live_stage == 0
    )
    step = run.tick(harmful("errors_vs_base")(run.context, run.state, run.now))
    assert run.status() is RunStatus.PAUSED
    assert {m.percentage for m in step.flag_moves} == {0.0}
    assert all(m.allow_list == () for m in step.flag_moves)  # phase II has none
    assert _refused(run, Resume("sm-eng-lead@va.gov")) == "needs_re_enable"


def test_the_kill_switch_turns_every_flag_of_the_run_off_and_re_enable_restores() -> (
    None
):
    run = Run(vaos())
    reach(run, 1, 1)
    assert _refused(run, Kill(PO)) == "not_your_role"
    step = run.do(Kill(ENG, "calls spiking"))
    assert run.status() is RunStatus.ROLLED_BACK
    assert {m.flag for m in step.flag_moves} == {
        "va_online_scheduling_facilities_service_v2",
        "va_online_scheduling_vaos_service_requests",
    }
    assert {m.percentage for m in step.flag_moves} == {0.0}
    assert step.notices[0].kind is NoticeKind.KILLED
    assert step.incidents[0].record["trigger"] == "kill"
    step = run.do(ReEnable(PO, "downstream outage, resolved", stage=0))
    moved = {m.flag: m.percentage for m in step.flag_moves}
    assert moved == {
        "va_online_scheduling_facilities_service_v2": 100.0,
        "va_online_scheduling_vaos_service_requests": 5.0,
    }


def test_low_severity_is_logged_and_the_run_goes_on() -> None:
    run = Run(vaos())
    reach(run, 0, 1)
    step = run.do(RaiseIncident(PO, Severity.LOW, "a typo"))
    assert step.flag_moves == ()
    assert run.status() is RunStatus.STAGE_RUNNING
    assert step.incidents[0].record["status"] == "logged"


def test_an_earlier_phase_watch_rolls_back_that_phase_only() -> None:
    run = Run(vaos())
    reach(run, 1, 0)
    first = evaluation(
        run.context, run.state, run.now, harmful=("errors",), stage=(0, 2)
    )
    current = evaluation(run.context, run.state, run.now)
    step = run.tick(Observation(current, watches=(PhaseWatch(0, first),)))
    assert [(m.flag, m.percentage) for m in step.flag_moves] == [
        ("va_online_scheduling_facilities_service_v2", 0.0)
    ]
    assert run.status() is RunStatus.ROLLED_BACK
    assert run.flags["va_online_scheduling_vaos_service_requests"].percentage == 5
    step = run.do(ReEnable(PO, "fixed the facilities adapter"))
    assert [(m.flag, m.percentage) for m in step.flag_moves] == [
        ("va_online_scheduling_facilities_service_v2", 100.0)
    ]
    assert run.status() is RunStatus.STAGE_RUNNING


def test_observe_mode_reports_what_it_would_do_and_asks_for_every_move() -> None:
    run = Run(context_of(example("vaos-service-integration"), observe=True))
    run.sign_all()
    # Even the first flag change waits for the product owner.
    assert run.status() is RunStatus.AWAITING_GO_NO_GO
    assert run.state.gate is not None and run.state.gate.roles == ("product_owner",)
    run.launch()
    assert run.status() is RunStatus.STAGE_RUNNING
    step = run.tick(harmful("errors")(run.context, run.state, run.now))
    assert [e.kind for e in step.events] == ["would_roll_back"]
    assert step.flag_moves == ()
    run.advance(61, launch=False)
    assert run.status() is RunStatus.AWAITING_GO_NO_GO


def test_every_rollout_example_plan_with_rollback_criteria_acts_in_its_stage() -> None:
    # The UAE dark deploy: new error classes are critical and turn the flag off.
    plan = example("uae-appointments-dark-deploy")
    run = Run(context_of(plan))
    run.sign_all()
    reach(run, 0, 1)
    phase = plan.phases[0]
    assert isinstance(phase, RolloutPhase)
    labels = [c.label for c in phase.stages[1].criteria]
    step = run.tick(harmful(labels[0])(run.context, run.state, run.now))
    assert run.status() is RunStatus.ROLLED_BACK
    assert [m.percentage for m in step.flag_moves] == [0.0]
    run.do(ReEnable("uae-product-owner@va.gov", "an unmapped OH status"))
    # resume_at: first_stage.
    assert run.state.stage == 0
