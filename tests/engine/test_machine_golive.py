"""Go live and its checkpoints in the run machine: the VAOS and Secure Messaging
examples walked healthy through go live and every checkpoint, with checkpoint
results computed from small simulated windows of the go-live scope."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from typing import Any

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from flagramp.cli.sim_windows import ScopeWindows
from flagramp.core.plans import Plan, load_plan
from flagramp.engine import machine
from flagramp.engine.checkpoint_result import (
    CheckpointResult,
    KpiStatus,
    QuestionStatus,
)
from flagramp.engine.checkpoints import compute_checkpoint
from flagramp.engine.commands import (
    AnswerQuestion,
    CommandRefused,
    CompleteRun,
    Kill,
    ReEnable,
)
from flagramp.engine.compile import metric_specs
from flagramp.engine.evaluation import Observation
from flagramp.engine.go_live_schedule import checkpoint_order
from flagramp.engine.machine import DueCheckpoint, RunContext
from flagramp.engine.notify import NoticeKind
from flagramp.engine.run_state import RunState, RunStatus
from flagramp.engine.steps import Step
from flagramp.sim import FlagState, World, span_aggregate
from flagramp.sim.examples import (
    SM_FLAGS,
    SM_TESTERS,
    VAOS_FLAGS,
    secure_messaging_world,
    vaos_world,
)
from flagramp.stats.windows import Window
from tests.engine.machine_kit import EXAMPLES, Run, context_of, example, people

DAY = 1440
SM_START = dt.datetime(2025, 8, 21, 12, tzinfo=dt.UTC)
VAOS_OWNER = "vaos-product-owner@va.gov"


# -- driving a run to go live and computing its checkpoints ---------------------


def live(context: RunContext, start: dt.datetime | None = None) -> Run:
    """A healthy run driven until it is live."""
    run = Run(context) if start is None else Run(context, start)
    run.sign_all()
    run.advance(60 * 24 * 200, every=60, until=lambda s: s.is_live)
    assert run.status() is RunStatus.GO_LIVE_WATCHING
    return run


def until_due(run: Run) -> DueCheckpoint:
    """Tick the run (no checkpoint passed) until a checkpoint falls due."""
    nxt = machine.due_checkpoint(run.context, run.state, run.now)
    assert nxt is None
    while run.status() is RunStatus.GO_LIVE_WATCHING:
        run.now += dt.timedelta(hours=12)
        run.tick(Observation(None))
    assert run.status() is RunStatus.CHECKPOINT_DUE
    due = machine.due_checkpoint(run.context, run.state, run.now)
    assert due is not None
    return due


_Spans = tuple[tuple[int, int], ...]
_WINDOWS: dict[tuple[str, _Spans], tuple[dict[str, list[Window]], float]] = {}


def simulated(
    plan: Plan,
    world: World,
    states: Sequence[FlagState],
    flags: tuple[str, ...],
    spans: Sequence[tuple[int, int]],
) -> tuple[dict[str, list[Window]], float]:
    """Windows of the go-live scope over a few spans, and the actorless calls.

    A few days of the horizon, not all of it: enough for every KPI to have an
    actual; `compute_checkpoint` takes any window inside the span."""
    key = (plan.name, tuple(spans))
    if key not in _WINDOWS:
        specs = metric_specs(plan.metrics)
        scopes = {f: ScopeWindows("R1/go-live", f, specs) for f in flags}
        windows: dict[str, list[Window]] = {f: [] for f in flags}
        calls = 0.0
        for a, b in spans:
            agg = span_aggregate(3, world, a, b, states, report=flags)
            calls += float(agg.environment.sum())
            for f in flags:
                windows[f] += scopes[f].add(agg)
        _WINDOWS[key] = (windows, calls)
    return _WINDOWS[key]


VAOS_WORLD = vaos_world(users=3_000, requests_per_minute=10.0)
VAOS_STATES = tuple(FlagState(f, 100.0) for f, _ in VAOS_FLAGS)


def vaos_checkpoint(run: Run, due: DueCheckpoint) -> CheckpointResult:
    """What the controller computes at a VAOS checkpoint: the span's first day
    and its last (cumulative from go live), the reference flag's windows."""
    start, end = due.start_minute, due.end_minute
    spans = [(start, start + DAY), (end - DAY, end)]
    assert due.flag is not None
    windows, calls = simulated(
        run.context.plan, VAOS_WORLD, VAOS_STATES, (due.flag,), spans
    )
    return compute_checkpoint(
        run.context.plan,
        due.checkpoint,
        windows,
        start,
        end,
        flag=due.flag,
        last=due.last,
        environment_counts={"contact_center_calls": calls},
    )


def events(steps: Sequence[Step], kind: str) -> list[dict[str, Any]]:
    return [e.data for s in steps for e in s.events if e.kind == kind]


def recorded(run: Run) -> tuple[CheckpointResult, ...]:
    # A call, so that mypy does not narrow it between steps.
    return run.state.checkpoints


def refused(run: Run, cmd: AnswerQuestion | CompleteRun) -> str:
    with pytest.raises(CommandRefused) as caught:
        run.do(cmd)
    return caught.value.code


def answer_everything(run: Run, text: str = "no") -> None:
    """Every question for people of every recorded checkpoint, by its role."""
    plan = run.context.plan
    while run.state.is_live:
        waiting = [(r.checkpoint, q, role) for r in run.state.checkpoints
                   for q, role in r.awaiting()]  # fmt: skip
        if not waiting:
            return
        where, question, role = waiting[0]
        assert role is not None
        run.do(AnswerQuestion(people(plan, role)[0], question, text, where))


# -- VAOS -----------------------------------------------------------------------


def test_vaos_go_live_records_the_kpi_targets_and_who_decided() -> None:
    run = live(context_of(example("vaos-service-integration")))
    record = run.state.go_live
    assert record is not None
    assert record.at == run.state.since
    assert [(k.name, k.target) for k in record.kpis] == [
        ("abandonment", "below 20"),
        ("contact_center_calls", "below 2"),
        ("errors", "below 5"),
    ]
    decision = record.decision
    assert decision is not None
    assert decision.roles == ("product_owner", "business_stakeholders")
    assert {v.role for v in decision.votes} == {
        "product_owner",
        "business_stakeholders",
    }
    assert all(v.answer == "launch" for v in decision.votes)
    # The go/no-go was before the last step to 100 %, so well before go live.
    assert decision.at < record.at
    (went,) = events(run.steps, "went_live")
    assert went["decided_by"] == [v.to_json() for v in decision.votes]
    assert went["scope"] == "R1/go-live"
    assert [c["name"] for c in went["checkpoints"]] == [
        "1-week results",
        "1-month results",
    ]
    # Earlier phases' watches and the last stage's evaluation stop at go live.
    assert run.state.evaluated_stage is None
    assert machine.watched_phases(run.context, run.state) == ()
    assert "1-week results" in run.state.waiting_for()


def test_vaos_checkpoints_fall_due_at_their_time_after_go_live() -> None:
    run = live(context_of(example("vaos-service-integration")))
    record = run.state.go_live
    assert record is not None
    run.now = record.at + dt.timedelta(days=7) - dt.timedelta(minutes=1)
    step = run.tick(Observation(None))
    assert not step.changed and run.status() is RunStatus.GO_LIVE_WATCHING
    assert machine.due_checkpoint(run.context, run.state, run.now) is None
    run.now += dt.timedelta(minutes=1)
    # The controller may compute in the very tick the checkpoint falls due.
    due = machine.due_checkpoint(run.context, run.state, run.now)
    assert due is not None
    assert (due.index, due.checkpoint.name, due.last) == (0, "1-week results", False)
    assert due.start_minute == record.minute
    assert due.end_minute == record.minute + 7 * DAY
    assert due.scope == "R1/go-live"
    assert due.flag == VAOS_FLAGS[-1][0]
    assert set(due.flags) == {f for f, _ in VAOS_FLAGS}
    run.tick(Observation(None))
    assert run.status() is RunStatus.CHECKPOINT_DUE
    (asked,) = events(run.steps, "checkpoint_due")
    assert asked["end_minute"] == due.end_minute
    # Ticks without the result wait; nothing is written.
    run.now += dt.timedelta(minutes=10)
    assert not run.tick(Observation(None)).changed


def test_vaos_walks_both_checkpoints_and_completes_once_people_answer() -> None:
    run = live(context_of(example("vaos-service-integration")))
    plan = run.context.plan
    due = until_due(run)
    week = vaos_checkpoint(run, due)
    step = run.tick(Observation(None, checkpoint=week))
    assert run.status() is RunStatus.GO_LIVE_WATCHING
    assert run.state.checkpoints == (week,)
    (recorded,) = events([step], "checkpoint_recorded")
    assert recorded["result"] == week.to_json()
    # Every KPI has an actual.
    assert [k.name for k in week.kpis] == [
        "abandonment",
        "contact_center_calls",
        "errors",
    ]
    assert all(k.actual.value is not None for k in week.kpis)
    assert all(k.status is not KpiStatus.NO_DATA for k in week.kpis)
    assert week.unique_users > 0
    (notice,) = [n for n in step.notices if n.kind is NoticeKind.CHECKPOINT]
    assert {"product_owner", "eng_lead"} <= set(notice.roles)
    assert "abandonment" in notice.text
    # The query answers itself; people's questions wait, none filled in.
    users = run.state.checkpoints[0].question("Number of unique users")
    assert users.status is QuestionStatus.ANSWERED and users.value is not None
    awaiting = dict(week.awaiting())
    assert awaiting["Types of errors logged"] == "eng_lead"
    eng = people(plan, "eng_lead")[0]
    run.do(AnswerQuestion(eng, "Types of errors logged", "timeouts only"))
    typed = run.state.checkpoints[0].question("Types of errors logged")
    assert (typed.answer, typed.person, typed.answered_at) == (
        "timeouts only",
        eng,
        run.now,
    )
    others = run.state.checkpoints[0].question(
        "Any issues with VA handling/processing?"
    )
    assert others.status is QuestionStatus.AWAITING and others.answer is None

    due = until_due(run)
    assert (due.index, due.last) == (1, True)
    assert due.end_minute == due.start_minute + 30 * DAY
    month = vaos_checkpoint(run, due)
    run.tick(Observation(None, checkpoint=month))
    assert len(run.state.checkpoints) == 2
    assert all(k.actual.value is not None for k in month.kpis)
    # The post-launch questions are asked at the last checkpoint; the run
    # waits for every answer, naming who must give them.
    assert run.status() is RunStatus.GO_LIVE_WATCHING
    assert "product_owner" in run.state.waiting_for()
    assert VAOS_OWNER in run.state.waiting_for()
    # A "yes" opens its follow-up, which must be answered too.
    ux = next(q for q, _ in month.awaiting() if q.startswith("Any UX changes"))
    run.do(AnswerQuestion(VAOS_OWNER, ux, "yes", "1-month results"))
    assert ("If yes, what", "product_owner") in run.state.checkpoints[1].awaiting()
    answer_everything(run)
    assert run.status() is RunStatus.COMPLETED
    assert all(not r.awaiting() for r in run.state.checkpoints)
    (retire,) = events(run.steps, "retire_proposed")
    flags = [f for f, _ in VAOS_FLAGS]
    assert sorted(retire["flags"]) == sorted(flags)
    assert sorted(i.flag for i in run.state.retirement) == sorted(flags)
    assert all(i.role == plan.owner for i in run.state.retirement)
    assert events(run.steps, "completed")[-1]["unanswered"] == []


def test_people_s_answers_appear_only_when_typed_in() -> None:
    run = live(context_of(example("vaos-service-integration")))
    plan = run.context.plan
    # The last stage asks it too, but its results are written: once live, it
    # waits for the checkpoint that asks it.
    eng = people(plan, "eng_lead")[0]
    early = AnswerQuestion(eng, "Types of errors logged", "none")
    assert refused(run, early) == "not_waiting_for_that"
    due = until_due(run)
    week = vaos_checkpoint(run, due)
    # A controller that fills in a person's answer is refused: never invented.
    invented = week.with_answer(
        "Types of errors logged", "none", people(plan, "eng_lead")[0], run.now
    )
    step = run.tick(Observation(None, checkpoint=invented))
    (refusal,) = events([step], "checkpoint_refused")
    assert "for people" in str(refusal["reason"])
    assert run.status() is RunStatus.CHECKPOINT_DUE and recorded(run) == ()
    # So is a result over another span, or another checkpoint's.
    short = dataclasses.replace(week, end_minute=week.end_minute - DAY)
    run.tick(Observation(None, checkpoint=short))
    other = dataclasses.replace(week, checkpoint="1-month results")
    run.tick(Observation(None, checkpoint=other))
    assert recorded(run) == ()
    run.tick(Observation(None, checkpoint=week))
    assert recorded(run) == (week,)
    # Answers come only from a person of the question's role.
    errors = "Types of errors logged"
    assert refused(run, AnswerQuestion(VAOS_OWNER, errors, "x")) == "not_your_role"
    users = "Number of unique users"
    assert refused(run, AnswerQuestion(VAOS_OWNER, users, "9")) == "answered_by_query"
    # The post-launch questions are asked at the last checkpoint, not before.
    assert plan.go_live is not None
    later = plan.go_live.questions[0].text
    assert refused(run, AnswerQuestion(VAOS_OWNER, later, "x")) == (
        "not_waiting_for_that"
    )
    assert refused(run, AnswerQuestion(VAOS_OWNER, errors, "x", "2-month results")) == (
        "unknown_question"
    )
    assert run.state.checkpoints == (week,)


def test_complete_run_closes_with_questions_still_awaiting() -> None:
    run = live(context_of(example("vaos-service-integration")))
    run.tick(Observation(None, checkpoint=vaos_checkpoint(run, until_due(run))))
    assert refused(run, CompleteRun(VAOS_OWNER)) == "checkpoints_pending"
    run.tick(Observation(None, checkpoint=vaos_checkpoint(run, until_due(run))))
    other = people(run.context.plan, "business_stakeholders")[0]
    assert refused(run, CompleteRun(other)) == "not_your_role"
    waiting = run.state.checkpoints[1].awaiting()
    step = run.do(CompleteRun(VAOS_OWNER, "the rest is in the retro doc"))
    assert run.status() is RunStatus.COMPLETED
    (completed,) = events([step], "completed")
    # Three people's questions at each checkpoint, and the four post-launch
    # ones at the last.
    assert len(completed["unanswered"]) == 3 + 3 + 4
    # Still awaiting in the record: closing invents nothing.
    assert run.state.checkpoints[1].awaiting() == waiting
    assert events([step], "retire_proposed")


def test_a_kill_after_go_live_keeps_the_go_live_and_its_checkpoints() -> None:
    run = live(context_of(example("vaos-service-integration")))
    plan = run.context.plan
    record = run.state.go_live
    assert record is not None
    run.tick(Observation(None, checkpoint=vaos_checkpoint(run, until_due(run))))
    eng = people(plan, "eng_lead")[0]
    run.do(Kill(eng, "patients see errors"))
    assert run.status() is RunStatus.ROLLED_BACK
    assert all(m.percentage == 0 for m in run.flags.values())
    run.do(ReEnable(VAOS_OWNER, "a bad deploy, reverted"))
    run.advance(60 * 24 * 10, every=60, until=lambda s: s.is_live)
    assert run.state.is_live
    assert events(run.steps, "live_again")
    assert len(events(run.steps, "went_live")) == 1
    assert run.state.go_live == record and len(run.state.checkpoints) == 1
    assert all(m.percentage == 100 for m in run.flags.values())
    due = machine.due_checkpoint(
        run.context, run.state, record.at + dt.timedelta(days=30)
    )
    assert due is not None and due.index == 1
    assert due.start_minute == record.minute


# -- Secure Messaging -----------------------------------------------------------

SM_WORLD = secure_messaging_world(users=3_000, requests_per_minute=10.0)
SM_STATES = tuple(
    FlagState(f, 100.0, allow_list=SM_TESTERS, bucket_key="sm") for f in SM_FLAGS
)


def sm_checkpoint(run: Run, due: DueCheckpoint) -> CheckpointResult:
    start, end = due.start_minute, due.end_minute
    spans = [(start, start + DAY), (end - DAY, end)]
    windows, _ = simulated(run.context.plan, SM_WORLD, SM_STATES, SM_FLAGS, spans)
    return compute_checkpoint(
        run.context.plan, due.checkpoint, windows, start, end, last=due.last
    )


def _sm(holdback_until: str) -> RunContext:
    path = EXAMPLES / "secure-messaging-oracle-health.yaml"
    text = path.read_text().replace(
        "holdback_until: go_live", f"holdback_until: {holdback_until}"
    )
    return context_of(load_plan(text, path.name).plan)


def test_secure_messaging_releases_its_holdback_at_go_live_and_completes() -> None:
    run = live(_sm("go_live"), SM_START)
    went = next(s for s in run.steps if any(e.kind == "went_live" for e in s.events))
    released = [m for m in went.flag_moves if m.reason == "holdback_released"]
    assert sorted(m.flag for m in released) == sorted(SM_FLAGS)
    assert all(m.percentage == 100.0 for m in released)
    # Shared users: both flags still bucket on the first flag's key.
    assert {m.bucket_key for m in released} == {SM_FLAGS[0]}
    (event,) = events([went], "holdback_released")
    assert event["until"] == "go_live"
    # One checkpoint, a month after go live, without KPIs.
    due = until_due(run)
    assert (due.index, due.last, due.checkpoint.name) == (0, True, "1 month")
    assert due.end_minute - due.start_minute == 30 * DAY
    result = sm_checkpoint(run, due)
    assert result.kpis == ()
    assert {f for f, _ in result.users_by_flag} == set(SM_FLAGS)
    step = run.tick(Observation(None, checkpoint=result))
    assert not [m for m in step.flag_moves]
    recorded = run.state.checkpoints[0]
    # Queries answer theirs; people's wait.
    sending = recorded.question(
        "What percentage of overall SM users are sending new messages each month?"
    )
    assert sending.status is QuestionStatus.ANSWERED and sending.value is not None
    research = recorded.question(
        "What qualitative feedback have you gathered from users or other "
        "stakeholders, if any?"
    )
    assert research.status is QuestionStatus.AWAITING
    assert research.answered_by == "research_lead"
    assert run.status() is RunStatus.GO_LIVE_WATCHING
    answer_everything(run, "see the research readout")
    assert run.status() is RunStatus.COMPLETED
    final = run.state.checkpoints[0].question(research.text)
    assert final.answer == "see the research readout"
    assert final.person in people(run.context.plan, "research_lead")
    (retire,) = events(run.steps, "retire_proposed")
    assert retire["flags"] == list(SM_FLAGS)


def test_a_holdback_until_the_last_checkpoint_is_released_when_it_is_recorded() -> None:
    run = live(_sm("last_checkpoint"), SM_START)
    assert all(m.percentage == 95.0 for m in run.flags.values() if m.flag in SM_FLAGS)
    assert not events(run.steps, "holdback_released")
    due = until_due(run)
    assert not events(run.steps, "holdback_released")
    step = run.tick(Observation(None, checkpoint=sm_checkpoint(run, due)))
    assert sorted(m.flag for m in step.flag_moves) == sorted(SM_FLAGS)
    assert all(m.percentage == 100.0 for m in step.flag_moves)
    (event,) = events([step], "holdback_released")
    assert event["until"] == "last_checkpoint"


# -- the state's new fields -------------------------------------------------------


def test_a_state_written_before_go_live_existed_reads_back_with_defaults() -> None:
    run = live(context_of(example("vaos-service-integration")))
    document = run.state.to_json()
    assert RunState.from_json(document) == run.state
    for key in ("go_live_decision", "go_live", "checkpoints", "retirement"):
        del document[key]
    old = RunState.from_json(document)
    assert old.go_live is None and old.checkpoints == () and old.retirement == ()


def test_a_checkpoint_computed_in_the_tick_it_falls_due_is_recorded_at_once() -> None:
    run = live(context_of(example("vaos-service-integration")))
    record = run.state.go_live
    assert record is not None
    run.now = record.at + dt.timedelta(days=7)
    due = machine.due_checkpoint(run.context, run.state, run.now)
    assert due is not None
    step = run.tick(Observation(None, checkpoint=vaos_checkpoint(run, due)))
    kinds = [e.kind for e in step.events]
    assert kinds == ["checkpoint_due", "checkpoint_recorded"]
    assert run.status() is RunStatus.GO_LIVE_WATCHING
    nxt = machine.due_checkpoint(run.context, run.state, run.now)
    assert nxt is None


def test_a_go_live_without_checkpoints_waits_for_its_questions_then_completes() -> None:
    plan = example("vaos-service-integration")
    assert plan.go_live is not None
    bare = plan.model_copy(
        update={"go_live": plan.go_live.model_copy(update={"checkpoints": ()})}
    )
    run = live(context_of(bare))
    assert run.state.go_live is not None and run.state.checkpoints == ()
    questions = [q.text for q in plan.go_live.questions]
    assert all(q in run.state.waiting_for() for q in questions)
    # Time alone never completes it: the answers are people's.
    run.now += dt.timedelta(days=90)
    assert not run.tick(Observation(None)).changed
    for text in questions:
        assert run.status() is RunStatus.GO_LIVE_WATCHING
        run.do(AnswerQuestion(VAOS_OWNER, text, "as planned"))
    assert run.status() is RunStatus.COMPLETED
    answers = {a.question: a.text for a in run.state.answers if a.stage is None}
    assert answers == dict.fromkeys(questions, "as planned")
    assert events(run.steps, "retire_proposed")


# -- a live run under random ticks, answers and closings ----------------------------

_LIVE = live(context_of(example("vaos-service-integration")))
_CONTEXT = _LIVE.context
_PLAN = _CONTEXT.plan
_PEOPLE = sorted({p for role in _PLAN.roles.values() for p in role.people})


def _results() -> tuple[CheckpointResult, ...]:
    # Empty windows: the machine's rules do not depend on the values.
    found = []
    state = _LIVE.state
    for _ in range(2):
        due = machine.due_checkpoint(
            _CONTEXT, state, dt.datetime.max.replace(tzinfo=dt.UTC)
        )
        assert due is not None
        result = compute_checkpoint(
            _PLAN, due.checkpoint, {}, due.start_minute, due.end_minute, last=due.last
        )
        found.append(result)
        state = dataclasses.replace(state, checkpoints=(*state.checkpoints, result))
    return tuple(found)


_RESULTS = _results()
_QUESTIONS = sorted(
    {q.text for r in _RESULTS for q in r.questions}
    | {"If yes, what", "Not a question of the plan"}
)


@given(
    st.lists(
        st.tuples(
            st.sampled_from(
                ["tick"] * 3 + ["answer"] * 2 + ["answer_due"] * 4 + ["complete"]
            ),
            st.sampled_from([0, 3, 8, 20]),
            st.sampled_from(_PEOPLE),
            st.sampled_from(_QUESTIONS),
            st.sampled_from(["yes", "no", "a note"]),
        ),
        min_size=20,
        max_size=50,
    )
)
@settings(max_examples=60, deadline=None)
def test_a_live_run_records_only_what_is_due_and_what_people_typed(
    actions: list[tuple[str, int, str, str, str]],
) -> None:
    state, now = _LIVE.state, _LIVE.now
    record = state.go_live
    assert record is not None
    typed: set[tuple[str, str, str]] = set()
    closed = False
    for kind, days, person, question, text in actions:
        try:
            if kind == "tick":
                now += dt.timedelta(days=days)
                due = machine.due_checkpoint(_CONTEXT, state, now)
                result = None if due is None else _RESULTS[due.index]
                step = machine.tick(
                    _CONTEXT, state, now, Observation(None, checkpoint=result)
                )
            elif kind.startswith("answer"):
                waiting = [w for r in state.checkpoints for w in r.awaiting()]
                if kind == "answer_due" and waiting:
                    # Someone of the role answers what waits (reaches completion).
                    question, role = waiting[0]
                    person = people(_PLAN, role or _PLAN.product_owner)[-1]
                cmd = AnswerQuestion(person, question, text)
                step = machine.command(_CONTEXT, state, now, cmd)
                typed.add((person, question, text))
            else:
                step = machine.command(_CONTEXT, state, now, CompleteRun(person))
                closed = True
        except CommandRefused as refusal:
            assert refusal.code
            continue
        state = step.state
        assert RunState.from_json(state.to_json()) == state
        # Only checkpoints whose time has come are recorded, in order.
        due_by_now = [
            c.name for c in checkpoint_order(_PLAN) if record.at + c.after.delta <= now
        ]
        assert [r.checkpoint for r in state.checkpoints] == due_by_now[
            : len(state.checkpoints)
        ]
        for result in state.checkpoints:
            for q in result.questions:
                for item in (q, q.follow_up):
                    if item is None:
                        continue
                    if item.query is not None:
                        assert item.person is None and item.answer is None
                    elif item.status is QuestionStatus.ANSWERED:
                        # Typed in by a person of its role: never invented.
                        assert item.person is not None and item.answer is not None
                        assert (item.person, item.text, item.answer) in typed
                        assert item.answered_by is not None
                        assert item.person in people(_PLAN, item.answered_by)
        if state.status is RunStatus.COMPLETED:
            event("completed, closed by a person" if closed else "completed")
            assert len(state.checkpoints) == 2
            assert closed or not any(r.awaiting() for r in state.checkpoints)
            assert len(state.retirement) == len(VAOS_FLAGS)
            break
        assert state.is_live
    event(f"{len(state.checkpoints)} checkpoint(s) recorded")
