"""The machine under random commands, evidence and time (Hypothesis stateful)."""

from __future__ import annotations

import datetime as dt
import json

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from flagramp.core.plans import Answer, RolloutPhase, treatment_percentage
from flagramp.core.severity import Severity
from flagramp.engine import machine
from flagramp.engine.commands import (
    Abort,
    AnswerQuestion,
    Command,
    CommandRefused,
    ConfirmRevert,
    Kill,
    Pause,
    RaiseIncident,
    ReEnable,
    Resume,
    Revise,
    SignPrerequisite,
    Vote,
)
from flagramp.engine.evaluation import DataHealth, Observation, PhaseWatch
from flagramp.engine.run_state import RunState
from flagramp.engine.steps import Step
from flagramp.engine.transitions.gates import stage_questions
from flagramp.stats import GuardOutcome
from tests.engine.machine_kit import T0, evaluation, vaos

CONTEXT = vaos()
PLAN = CONTEXT.plan
PEOPLE = sorted({p for role in PLAN.roles.values() for p in role.people})
ROLES = sorted(PLAN.roles)
CRITERIA = ("errors", "abandonment", "contact_center_calls")
FLAGS = sorted({f for _, phase in PLAN.rollout_phases() for f in phase.flags})


class RunMachine(RuleBasedStateMachine):
    """A VAOS run; every step is checked against the rules that must hold."""

    def __init__(self) -> None:
        super().__init__()
        self.now = T0
        self.flags: dict[str, float] = {}
        self.blocked = False
        self.state = self._apply(machine.start(CONTEXT, self.now), None)
        # Prerequisites have their own tests; most runs here get past them.
        for i, item in enumerate(PLAN.prerequisites):
            self._command(SignPrerequisite(PLAN.roles[item.signed_by].people[0], i))

    def _apply(self, step: Step, before: RunState | None) -> RunState:
        kinds = [e.kind for e in step.events]
        if before is not None and before.status.is_final:
            assert step.state is before and not step.changed
        if "rolled_back" in kinds or "killed" in kinds:
            self.blocked = True
        approved = "re_enabled" in kinds
        for move in step.flag_moves:
            if self.blocked and not approved:
                # Nothing goes up after a rollback without an approving re-enable.
                assert move.percentage <= self.flags.get(move.flag, 0.0), move
            if before is not None and move.flag in before.outside_changed:
                # A flag changed outside is the changer's until a person resumes.
                assert "resumed" in kinds or move.reason in ("killed", "re_enabled")
            self.flags[move.flag] = move.percentage
        if approved:
            self.blocked = False
        # The store keeps the state as JSON text; a restart reads it back.
        text = json.dumps(step.state.to_json(), allow_nan=False)
        restored = RunState.from_json(json.loads(text))
        assert restored == step.state
        return restored

    def _command(self, cmd: Command) -> None:
        before = self.state
        try:
            step = machine.command(CONTEXT, before, self.now, cmd)
        except CommandRefused as refused:
            assert refused.code
            return
        assert not before.status.is_final
        self.state = self._apply(step, before)

    @rule(
        minutes=st.sampled_from([1, 5, 30, 120, 1500]),
        outcome=st.sampled_from([GuardOutcome.HEALTHY, GuardOutcome.INCONCLUSIVE]),
        harmful=st.sets(st.sampled_from(CRITERIA), max_size=2) | st.just(set()),
        health=st.sampled_from(["ok", "ok", "ok", "gap", "srm"]),
        outside=st.sampled_from([(), (), (), (), (FLAGS[0],), (FLAGS[2],)]),
        exposures=st.sampled_from([0, 0, 3]),
        watch_harm=st.booleans(),
    )
    def tick(
        self,
        minutes: int,
        outcome: GuardOutcome,
        harmful: set[str],
        health: str,
        outside: tuple[str, ...],
        exposures: int,
        watch_harm: bool,
    ) -> None:
        self.now += dt.timedelta(minutes=minutes)
        found = None
        if self.state.evaluated_stage is not None:
            minute = int(self.now.timestamp() // 60)
            data = {
                "ok": DataHealth(),
                "gap": DataHealth("no exposures", minute - 15),
                "srm": DataHealth("sample ratio mismatch", minute, srm=True),
            }[health]
            found = evaluation(
                CONTEXT,
                self.state,
                self.now,
                outcome=outcome,
                harmful=tuple(harmful),
                health=data,
            )
        watches = tuple(
            PhaseWatch(
                p,
                evaluation(
                    CONTEXT,
                    self.state,
                    self.now,
                    harmful=("errors",) if watch_harm else (),
                    stage=(p, 2),
                ),
            )
            for p in machine.watched_phases(CONTEXT, self.state)
        )
        observation = Observation(
            found,
            watches=watches,
            outside_changes=outside,
            treatment_exposures_after=exposures,
            treatment_share_seen=0.05,
            exposed_users_after=1000,
        )
        before = self.state
        self.state = self._apply(
            machine.tick(CONTEXT, before, self.now, observation), before
        )

    @rule(data=st.data())
    def vote(self, data: st.DataObject) -> None:
        gate = self.state.gate
        role = data.draw(st.sampled_from(gate.roles if gate else tuple(ROLES)))
        answer = data.draw(
            st.sampled_from([Answer.LAUNCH] * 6 + [Answer.PAUSE, Answer.PIVOT])
        )
        for person in PLAN.roles[role].people:
            self._command(Vote(person, role, answer, "hypothesis"))

    @rule()
    def answer_questions(self) -> None:
        for q in stage_questions(PLAN, self.state.phase, self.state.stage):
            if q.answered_by:
                person = PLAN.roles[q.answered_by].people[0]
                self._command(AnswerQuestion(person, q.text, "no"))

    @rule()
    def sign(self) -> None:
        for i, item in enumerate(PLAN.prerequisites):
            self._command(SignPrerequisite(PLAN.roles[item.signed_by].people[0], i))

    @rule(
        person=st.sampled_from(PEOPLE),
        kind=st.sampled_from(
            ["pause", "resume", "kill", "incident", "re_enable", "revert", "revise"]
        ),
        severity=st.sampled_from(list(Severity)),
        stage=st.sampled_from([None, None, 0, 1, 2]),
    )
    def person_acts(
        self, person: str, kind: str, severity: Severity, stage: int | None
    ) -> None:
        commands: dict[str, Command] = {
            "pause": Pause(person),
            "resume": Resume(person),
            "kill": Kill(person),
            "incident": RaiseIncident(person, severity, "seen on a dashboard"),
            "re_enable": ReEnable(person, "root cause", stage),
            "revert": ConfirmRevert(person),
            "revise": Revise(person, "text", "hash", "diff", ()),
        }
        self._command(commands[kind])

    @rule(stage=st.sampled_from([None, None, 0, 1]))
    def approve(self, stage: int | None) -> None:
        self._command(ConfirmRevert(PLAN.roles["eng_lead"].people[0]))
        self._command(ReEnable(PLAN.roles["product_owner"].people[0], "fixed", stage))

    @rule(person=st.sampled_from(PEOPLE), rarely=st.integers(0, 9))
    def abort(self, person: str, rarely: int) -> None:
        if rarely == 0:
            self._command(Abort(person))

    @invariant()
    def percentage_never_exceeds_the_current_stage(self) -> None:
        state = self.state
        phase = PLAN.phases[state.phase] if state.phase < len(PLAN.phases) else None
        if not isinstance(phase, RolloutPhase):
            return
        limit = 0.0
        if state.stage is not None:
            limit = treatment_percentage(phase, phase.stages[state.stage])
        for flag in phase.flags:
            assert self.flags.get(flag, 0.0) <= limit, (flag, state)


RunMachine.TestCase.settings = settings(
    max_examples=60,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
test_run_machine = RunMachine.TestCase
