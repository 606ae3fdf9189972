"""Gates, questions, revisions, data health, outside changes, windows, phases."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from flagramp.core.plans import Answer, Plan, RolloutPhase
from flagramp.core.plans.phases import TimeOfDay
from flagramp.core.severity import Severity
from flagramp.engine.commands import (
    Abort,
    AnswerQuestion,
    Command,
    CommandRefused,
    FinishManualPhase,
    Pause,
    RaiseIncident,
    Resume,
    Revise,
    SignPrerequisite,
    Vote,
)
from flagramp.engine.evaluation import DataHealth, Observation
from flagramp.engine.notify import NoticeKind
from flagramp.engine.run_state import RunState, RunStatus
from tests.engine.machine_kit import (
    Run,
    context_of,
    evaluation,
    example,
    reach,
    undecided,
    vaos,
)

PO = "vaos-product-owner@va.gov"
ENG = "vaos-eng-lead@va.gov"
FIRST_FLAG = "va_online_scheduling_facilities_service_v2"
DATA_QUESTION = "Was the data submitted (if any) easy for VA to process?"
ERRORS_QUESTION = "Types of errors logged"


def _refused(run: Run, cmd: Command) -> str:
    with pytest.raises(CommandRefused) as caught:
        run.do(cmd)
    return caught.value.code


def _minute(at: dt.datetime) -> int:
    return int(at.timestamp() // 60)


def _gap(run: Run, since: dt.datetime) -> Observation:
    health = DataHealth("no exposures since 14:30", _minute(since))
    return Observation(evaluation(run.context, run.state, run.now, health=health))


def _every_minute(run: Run, minutes: int, gap_from: dt.datetime | None = None) -> None:
    for _ in range(minutes):
        run.now += dt.timedelta(minutes=1)
        if gap_from is None:
            run.tick()
        else:
            run.tick(_gap(run, gap_from))


def test_a_data_gap_stops_the_stage_clock() -> None:
    run = Run(vaos())
    run.sign_all()
    _every_minute(run, 30)
    gap_from = run.now
    _every_minute(run, 5, gap_from)
    assert "data_gap" in run.events()
    assert run.status() is RunStatus.STAGE_RUNNING
    _every_minute(run, 30)
    # 65 minutes have passed, 60 of them counted: the hold of 1h is not over.
    assert run.state.stage == 0
    assert 59.0 <= run.state.counted_minutes(run.now) < 60.0
    _every_minute(run, 1)
    assert run.state.stage == 1


def test_data_missing_past_the_grace_pauses_and_notifies() -> None:
    run = Run(vaos())
    run.sign_all()
    gap_from = run.now
    _every_minute(run, 9, gap_from)
    assert run.status() is RunStatus.STAGE_RUNNING
    run.now += dt.timedelta(minutes=1)
    step = run.tick(_gap(run, gap_from))
    assert run.status() is RunStatus.PAUSED
    assert step.notices[0].kind is NoticeKind.PAUSED
    assert "no exposures" in (run.state.paused_reason or "")


def test_a_sample_ratio_mismatch_pauses_at_once() -> None:
    run = Run(vaos())
    run.sign_all()
    run.now += dt.timedelta(minutes=1)
    health = DataHealth("sample ratio mismatch p=2e-05", _minute(run.now), srm=True)
    run.tick(Observation(evaluation(run.context, run.state, run.now, health=health)))
    assert run.status() is RunStatus.PAUSED


def test_an_outside_change_pauses_and_only_a_rollback_overrides_it() -> None:
    run = Run(vaos())
    run.sign_all()
    run.now += dt.timedelta(minutes=1)
    found = evaluation(run.context, run.state, run.now)
    step = run.tick(Observation(found, outside_changes=(FIRST_FLAG, "unrelated")))
    assert run.status() is RunStatus.PAUSED
    assert [e.kind for e in step.events] == ["outside_change", "paused"]
    assert step.events[0].data["flags"] == [FIRST_FLAG]
    # Taking users off the feature is never withheld: the flag goes off for all,
    # and the log says whose change it overrode.
    step = run.do(RaiseIncident(ENG, Severity.CRITICAL, "errors on the dashboard"))
    assert [(m.flag, m.percentage, m.allow_list) for m in step.flag_moves] == [
        (FIRST_FLAG, 0.0, ())
    ]
    overridden = [e for e in step.events if e.kind == "outside_change_overridden"]
    assert overridden and overridden[0].data["flags"] == [FIRST_FLAG]
    assert FIRST_FLAG not in run.state.outside_changed


def test_an_outside_change_is_cleared_when_a_person_resumes() -> None:
    run = Run(vaos())
    run.sign_all()
    run.now += dt.timedelta(minutes=1)
    found = evaluation(run.context, run.state, run.now)
    run.tick(Observation(found, outside_changes=(FIRST_FLAG,)))
    run.do(Resume(ENG, "that was me"))
    assert run.state.outside_changed == ()
    run.advance(70)
    assert run.flags[FIRST_FLAG].percentage == 25


def test_undecided_at_max_time_asks_and_launch_is_recorded_as_on_evidence() -> None:
    run = Run(vaos())
    run.sign_all()
    run.advance(110, undecided, launch=False)
    assert run.status() is RunStatus.STAGE_RUNNING
    run.advance(20, undecided, launch=False)
    assert run.status() is RunStatus.AWAITING_GO_NO_GO
    assert run.state.gate is not None and run.state.gate.kind == "undecided"
    assert run.state.gate.evidence is not None
    assert "evaluation" in run.state.gate.evidence
    run.launch()
    assert run.state.stage_results[0]["decision"] == "launched_on_evidence"
    assert run.state.stage == 1


def _at_stage_b_gate(run: Run) -> None:
    reach(run, 0, 1)
    run.advance(60 * 25, launch=False, until=lambda s: s.gate is not None)
    assert run.status() is RunStatus.AWAITING_GO_NO_GO


def test_a_go_no_go_waits_for_its_questions() -> None:
    run = Run(vaos())
    _at_stage_b_gate(run)
    run.do(Vote(PO, "product_owner", Answer.LAUNCH, "fine"))
    assert run.status() is RunStatus.AWAITING_GO_NO_GO
    assert DATA_QUESTION in run.state.waiting_for()
    assert "eng_lead" in run.state.waiting_for()
    assert _refused(run, AnswerQuestion(ENG, DATA_QUESTION, "yes")) == "not_your_role"
    assert _refused(run, AnswerQuestion(PO, "What?", "yes")) == "unknown_question"
    run.do(AnswerQuestion(PO, DATA_QUESTION, "yes"))
    assert run.status() is RunStatus.AWAITING_GO_NO_GO
    run.do(AnswerQuestion(ENG, ERRORS_QUESTION, "timeouts only"))
    assert (run.state.stage, run.status()) == (2, RunStatus.STAGE_RUNNING)
    answers = run.state.stage_results[-1]["answers"]
    assert isinstance(answers, list) and len(answers) == 2


def test_votes_need_the_role_and_a_question_being_asked() -> None:
    run = Run(vaos())
    reach(run, 0, 0)
    vote = Vote(PO, "product_owner", Answer.LAUNCH)
    assert _refused(run, vote) == "not_waiting_for_that"
    _at_stage_b_gate(run)
    assert _refused(run, Vote(ENG, "product_owner", Answer.LAUNCH)) == "not_your_role"
    assert _refused(run, Vote(ENG, "eng_lead", Answer.LAUNCH)) == "not_waiting_for_that"


def test_a_pause_vote_pauses() -> None:
    run = Run(vaos())
    _at_stage_b_gate(run)
    run.do(Vote(PO, "product_owner", Answer.PAUSE, "wait for the report"))
    assert run.status() is RunStatus.PAUSED
    run.do(Resume(PO))
    run.advance(10, launch=False)
    # Resumed, the stage asks its gate again: nothing moved without a Launch.
    assert run.status() is RunStatus.AWAITING_GO_NO_GO
    assert run.state.stage == 1


def test_the_same_vote_again_changes_nothing_and_a_changed_one_is_recorded() -> None:
    run = Run(vaos())
    _at_stage_b_gate(run)
    first = run.do(Vote(PO, "product_owner", Answer.LAUNCH, "fine"))
    assert [e.kind for e in first.events] == ["voted"] and not first.repeated
    run.now += dt.timedelta(minutes=3)
    again = run.do(Vote(PO, "product_owner", Answer.LAUNCH, "fine"))
    assert again.repeated and not again.changed and again.notices == ()
    # The recorded vote keeps its first time: the repeat left no trace.
    assert again.state.votes == first.state.votes
    assert first.state.votes[0].at == run.now - dt.timedelta(minutes=3)
    reworded = run.do(Vote(PO, "product_owner", Answer.LAUNCH, "fine, data checked"))
    assert not reworded.repeated
    assert [e.kind for e in reworded.events] == ["voted"]
    assert [v.comment for v in run.state.votes] == ["fine, data checked"]
    paused = run.do(Vote(PO, "product_owner", Answer.PAUSE, "fine, data checked"))
    assert not paused.repeated and run.status() is RunStatus.PAUSED
    assert run.events().count("voted") == 3


def _revise(person: str, loosens: tuple[str, ...] = ()) -> Revise:
    return Revise(person, "name: x", "hash2", "hold 1d -> 2d", loosens)


def test_a_pivot_steps_back_and_waits_for_a_revision() -> None:
    run = Run(vaos())
    _at_stage_b_gate(run)
    step = run.do(Vote(PO, "product_owner", Answer.PIVOT, "rethink"))
    assert [m.percentage for m in step.flag_moves] == [5.0]
    assert run.status() is RunStatus.PAUSED and run.state.revision_required
    assert _refused(run, Resume(PO)) == "needs_revision"
    assert _refused(run, _revise(ENG, ("hold 1d -> 1h",))) == "needs_product_owner"
    step = run.do(_revise(ENG))
    assert [e.kind for e in step.events] == ["plan_revised", "plan_adopted"]
    assert step.events[0].data["plan_text"] == "name: x"
    assert run.state.plan_version == 2
    run.advance(10)
    assert (run.state.stage, run.status()) == (0, RunStatus.STAGE_RUNNING)


def test_a_revision_is_adopted_at_the_next_stage_boundary() -> None:
    run = Run(vaos())
    run.sign_all()
    run.do(_revise(PO, ("a shorter hold",)))
    assert run.state.pending_revision == 2 and run.state.plan_version == 1
    run.advance(60)
    assert run.state.plan_version == 2
    # The next stage is entered by the next call, built from the new version.
    assert run.status() is RunStatus.WAITING_WINDOW and run.state.stage == 1
    run.advance(10)
    assert run.status() is RunStatus.STAGE_RUNNING and run.state.stage == 1


def test_prerequisites_are_signed_by_their_roles_once() -> None:
    run = Run(vaos())
    assert _refused(run, SignPrerequisite(PO, 0)) == "not_your_role"
    assert _refused(run, SignPrerequisite(PO, 9)) == "unknown_prerequisite"
    run.do(SignPrerequisite(PO, 3))
    assert _refused(run, SignPrerequisite(PO, 3)) == "already_signed"
    # Nothing to pause before the prerequisites: a pause would skip them.
    assert _refused(run, Pause(PO)) == "not_waiting_for_that"
    assert run.status() is RunStatus.WAITING_PREREQUISITES


def test_a_plan_without_prerequisites_says_so_when_one_is_signed() -> None:
    run = Run(context_of(example("uae-appointments-dark-deploy")))
    with pytest.raises(CommandRefused, match="no prerequisites") as caught:
        run.do(SignPrerequisite("uae-eng-lead@va.gov", 0))
    assert caught.value.code == "unknown_prerequisite"


def test_an_aborted_run_absorbs_everything() -> None:
    run = Run(vaos())
    run.sign_all()
    assert _refused(run, Abort(ENG.replace("eng", "x"))) == "not_your_role"
    run.do(Abort(ENG, "wrong plan"))
    assert run.status() is RunStatus.ABORTED
    assert _refused(run, Pause(PO)) == "run_finished"
    before = run.state
    run.now += dt.timedelta(days=3)
    step = run.tick()
    assert step.state is before and not step.changed
    assert run.state.waiting_for().startswith("nothing")


def _secure_messaging() -> Run:
    plan = example("secure-messaging-oracle-health")
    run = Run(context_of(plan), dt.datetime(2025, 8, 21, 12, tzinfo=dt.UTC))
    run.sign_all()
    return run


def test_a_uat_stage_gives_the_allow_list_only_and_leaves_by_its_go_no_go() -> None:
    run = _secure_messaging()
    assert run.status() is RunStatus.WAITING_WINDOW
    run.advance(60 * 24, every=60)
    assert run.status() is RunStatus.STAGE_RUNNING
    flag = run.flags["mhv_secure_messaging_curated_list_flow"]
    assert flag.percentage == 0.0
    assert flag.allow_list == ("bah-veteran-1@va.gov", "bah-veteran-2@va.gov")
    run.advance(60 * 24 * 12, every=60, launch=False)
    assert run.status() is RunStatus.STAGE_RUNNING
    run.advance(60 * 24 * 2, every=60, launch=False)
    assert run.status() is RunStatus.AWAITING_GO_NO_GO
    assert run.state.gate is not None
    assert run.state.gate.roles == ("product_manager", "eng_lead")
    run.launch()
    # The next phase waits for its date window (2026-01-15).
    assert run.status() is RunStatus.WAITING_WINDOW and run.state.phase == 1


def test_a_manual_phase_ends_by_its_owner_after_its_watch_and_checklist() -> None:
    plan = example("uae-appointments-dark-deploy")
    run = Run(context_of(plan))
    run.sign_all()
    run.advance(60 * 24 * 40, every=60, until=lambda s: s.phase == 1)
    assert run.status() is RunStatus.MANUAL_PHASE
    owner = "uae-product-owner@va.gov"
    assert _refused(run, FinishManualPhase("uae-eng-lead@va.gov")) == "not_your_role"
    assert _refused(run, FinishManualPhase(owner)) == "watch_not_over"
    step = run.do(FinishManualPhase(owner, done=(0,)))
    assert [e.kind for e in step.events] == ["checklist_done"]
    run.now += dt.timedelta(weeks=4)
    assert _refused(run, FinishManualPhase(owner)) == "checklist_incomplete"
    run.do(FinishManualPhase(owner, done=(1,)))
    assert run.status() is RunStatus.COMPLETED
    assert run.state.stage_results[-1]["kind"] == "manual"


def _night_only(plan: Plan) -> Plan:
    phase = plan.phases[0]
    assert isinstance(phase, RolloutPhase)
    night = TimeOfDay(start="22:00", end="06:00", timezone="UTC")
    phases = (phase.model_copy(update={"time_of_day": night}), *plan.phases[1:])
    return plan.model_copy(update={"phases": phases})


def test_flag_changes_wait_for_the_time_of_day_but_holds_count_on() -> None:
    run = Run(context_of(_night_only(example("vaos-service-integration"))))
    run.sign_all()
    # 14:00 UTC: outside 22:00-06:00, the first stage waits.
    assert run.status() is RunStatus.WAITING_WINDOW
    assert FIRST_FLAG not in run.flags
    run.advance(8 * 60)
    assert run.status() is RunStatus.STAGE_RUNNING
    assert run.now.hour == 22
    run.advance(60)
    assert run.state.stage == 1


def test_every_state_round_trips_through_json_text() -> None:
    run = Run(vaos())
    _at_stage_b_gate(run)
    run.do(Vote(PO, "product_owner", Answer.PIVOT, "rethink"))
    text = json.dumps(run.state.to_json(), allow_nan=False)
    assert RunState.from_json(json.loads(text)) == run.state
