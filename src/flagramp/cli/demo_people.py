"""The demo's people: what the plan's roles would do when the run waits for them.

The demo has nobody at a keyboard, so this stands in for the people the plan
names: they sign the prerequisites, answer each stage's questions, answer
Launch at every go/no-go with a comment, and, once the simulated fix has
landed, confirm the revert and approve re-enabling with a root cause. After
go live they answer each recorded checkpoint's questions for people, every
answer marked as the demo's (`DEMO_ANSWER`), and the owner completes the run
once every checkpoint is recorded (`CompleteRun`, refused while any is still
to come). Each command is sent as the first person of the role the plan gives
for it.

It reads only the plan and the run's status, never the machine's bookkeeping:
it offers every command a person of the plan could give in that status, and
the engine refuses those it is not waiting for (`CommandRefused`), as it would
refuse a real person. That keeps this file independent of how the run records
what it still waits for.
"""

from __future__ import annotations

from dataclasses import dataclass

from flagramp.core.plans import Answer, Plan, RolloutPhase
from flagramp.engine.commands import (
    AnswerQuestion,
    Command,
    CompleteRun,
    ConfirmRevert,
    FinishManualPhase,
    ReEnable,
    Resume,
    SignPrerequisite,
    Vote,
)
from flagramp.engine.run_state import RunState, RunStatus

__all__ = ["DEMO_ANSWER", "ROOT_CAUSE", "DemoPeople"]

#: The root cause the approver records after the simulated fix.
ROOT_CAUSE = (
    "Simulated regression: the new service's error rate rose past the plan's "
    "limit; the fix was deployed and the error rate is back to normal."
)

#: How the demo's people mark a post-launch answer: the run is simulated, so
#: nobody may read it as a real team's finding.
DEMO_ANSWER = "(Demo answer, simulated run)"


@dataclass(frozen=True, slots=True)
class DemoPeople:
    """The plan's roles as the demo plays them."""

    plan: Plan

    def person(self, role: str) -> str:
        """The first person the plan lists for `role`."""
        return self.plan.roles[role].people[0]

    def commands(self, state: RunState, *, fixed: bool) -> list[Command]:
        """What the plan's people would try now, in order.

        `fixed`: whether the simulated fix for an injected regression has
        landed (people approve re-enabling only after it).
        """
        status = state.status
        if status is RunStatus.WAITING_PREREQUISITES:
            return [
                SignPrerequisite(self.person(p.signed_by), i, note=f"Done: {p.text}")
                for i, p in enumerate(self.plan.prerequisites)
            ]
        if status is RunStatus.AWAITING_GO_NO_GO:
            return [*self._answers(state), *self._votes(state)]
        if status is RunStatus.ROLLED_BACK and fixed:
            return [*self._revert_confirmations(), *self._re_enables()]
        if status is RunStatus.PAUSED and fixed:
            return [*self._revert_confirmations(), *self._re_enables(), self._resume()]
        if state.is_live:
            return self._checkpoint_answers(state)
        if status is RunStatus.MANUAL_PHASE:
            phase = self.plan.phases[state.phase]
            if not isinstance(phase, RolloutPhase):
                done = tuple(range(len(phase.checklist)))
                return [FinishManualPhase(self.person(phase.owner), done, "Done.")]
        return []

    def _answers(self, state: RunState) -> list[Command]:
        phase = self.plan.phases[state.phase]
        if not isinstance(phase, RolloutPhase) or state.stage is None:
            return []
        stage = phase.stages[state.stage]
        out: list[Command] = []
        for q in stage.record.questions:
            if q.answered_by is None:
                continue
            text = "Yes" if q.yes_no else "None beyond the background errors."
            out.append(AnswerQuestion(self.person(q.answered_by), q.text, text))
            follow = q.follow_up
            if follow is not None and follow.answered_by is not None and q.yes_no:
                out.append(
                    AnswerQuestion(
                        self.person(follow.answered_by), follow.text, "Nothing yet."
                    )
                )
        return out

    def _checkpoint_answers(self, state: RunState) -> list[Command]:
        out: list[Command] = []
        for result in state.checkpoints:
            for text, role in result.awaiting():
                if role is None or role not in self.plan.roles:
                    continue
                # "No" to a yes/no question: the simulation has no issues to
                # report, and a "yes" would open a follow-up nobody can answer.
                answer = "No" if result.question(text).yes_no else "Nothing to report"
                out.append(
                    AnswerQuestion(
                        self.person(role),
                        text,
                        f"{answer}. {DEMO_ANSWER}",
                        checkpoint=result.checkpoint,
                    )
                )
        go_live = self.plan.go_live
        if go_live is not None and len(state.checkpoints) == len(go_live.checkpoints):
            note = "Every checkpoint is recorded. (Demo: the simulated run ends.)"
            out.append(CompleteRun(self.person(self.plan.owner), note))
        return out

    def _votes(self, state: RunState) -> list[Command]:
        where = f"phase {state.phase + 1}"
        if state.stage is not None:
            where += f", stage {state.stage + 1}"
        comment = f"Launch: the criteria are healthy at {where}."
        return [
            Vote(role.people[0], name, Answer.LAUNCH, comment)
            for name, role in self.plan.roles.items()
        ]

    def _revert_confirmations(self) -> list[Command]:
        policy = self.plan.rollback
        if policy is None:
            return []
        return [
            ConfirmRevert(self.person(r), "The fix is deployed.")
            for r in policy.revert_confirmed_by
        ]

    def _re_enables(self) -> list[Command]:
        policy = self.plan.rollback
        if policy is None or policy.re_enable is None:
            return []
        return [
            ReEnable(self.person(r), ROOT_CAUSE) for r in policy.re_enable.approved_by
        ]

    def _resume(self) -> Command:
        return Resume(self.person(self.plan.owner), "Resumed after checking the run.")
