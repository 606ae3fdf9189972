"""Go/no-gos: which are asked where, what the answers decide, what is unanswered."""

from __future__ import annotations

from collections.abc import Iterator

from flagramp.core.plans import (
    Answer,
    GoNoGo,
    GoNoGoOutcome,
    Plan,
    RolloutPhase,
    decide,
    entry_gates,
    stage_exit,
)
from flagramp.core.plans.stages import Question
from flagramp.engine.run_context import RunContext
from flagramp.engine.run_records import GateAsk
from flagramp.engine.run_state import RunState


def _observe_gate(plan: Plan) -> GoNoGo:
    # A whole plan in observe mode: every percentage move waits for a person.
    return GoNoGo(roles=(plan.product_owner,))


def _with_observe(context: RunContext, gates: list[GoNoGo]) -> tuple[GoNoGo, ...]:
    if context.observe:
        person = _observe_gate(context.plan)
        if not any(set(person.roles) <= set(g.roles) for g in gates):
            gates.append(person)
    return tuple(gates)


def gates_of(
    context: RunContext, kind: str, phase: int, stage: int | None
) -> tuple[GoNoGo, ...]:
    """The go/no-gos of one kind, in the order they are asked.

    `entry`: before a phase's first flag change (`entry_gates`); `exit`: once a
    stage's own conditions hold (`stage_exit`); `undecided`: a stage still
    undecided at its `max_time` asks `undecided_asks`, then any other gates.
    """
    plan = context.plan
    if kind == "entry":
        return _with_observe(context, list(entry_gates(plan, phase)))
    assert stage is not None
    rule = stage_exit(plan, phase, stage)
    if kind == "exit":
        return _with_observe(context, list(rule.gates))
    part = plan.phases[phase]
    assert isinstance(part, RolloutPhase)
    own = part.stages[stage].go_no_go
    asked = [GoNoGo(roles=rule.undecided_asks)]
    asked.extend(g for g in rule.gates if g is not own)
    return _with_observe(context, asked)


def outcome(ask: GateAsk, state: RunState) -> GoNoGoOutcome:
    """What the votes given so far decide (`core.plans.decide`)."""
    answers: dict[str, dict[str, Answer]] = {}
    for vote in state.votes:
        answers.setdefault(vote.role, {})[vote.person] = Answer(vote.answer)
    return decide(GoNoGo(roles=ask.roles, quorum=ask.quorum), answers)


def launched_roles(ask: GateAsk, state: RunState) -> tuple[str, ...]:
    """The gate's roles that have their quorum of Launch."""
    return tuple(
        role
        for role in ask.roles
        if sum(v.role == role and v.answer == Answer.LAUNCH.value for v in state.votes)
        >= ask.quorum
    )


def _questions(questions: tuple[Question, ...]) -> Iterator[Question]:
    for question in questions:
        yield question
        if question.follow_up is not None:
            yield from _questions((question.follow_up,))


def stage_questions(plan: Plan, phase: int, stage: int | None) -> tuple[Question, ...]:
    """Every question (follow-ups included) the stage records."""
    part = plan.phases[phase] if phase < len(plan.phases) else None
    if not isinstance(part, RolloutPhase) or stage is None:
        return ()
    if stage >= len(part.stages):
        return ()
    return tuple(_questions(part.stages[stage].record.questions))


def go_live_questions(plan: Plan) -> tuple[Question, ...]:
    return tuple(_questions(plan.go_live.questions)) if plan.go_live else ()


def answer_to(
    state: RunState, phase: int, stage: int | None, question: str
) -> str | None:
    """The latest answer given in the run to the question, if any."""
    found = None
    for record in state.answers:
        if (record.phase, record.stage, record.question) == (phase, stage, question):
            found = record.text
    return found


def unanswered(
    plan: Plan, state: RunState, phase: int, stage: int
) -> tuple[Question, ...]:
    """The stage's questions a role must answer before its go/no-go closes.

    A follow-up is asked only when its question was answered yes; an answer the
    plan itself carries counts.
    """
    part = plan.phases[phase]
    assert isinstance(part, RolloutPhase)
    missing: list[Question] = []

    def visit(question: Question) -> None:
        given = question.answer or answer_to(state, phase, stage, question.text)
        if question.answered_by is not None and given is None:
            missing.append(question)
            return
        if question.follow_up is not None and (given or "").strip().lower() in {
            "yes",
            "y",
            "true",
        }:
            visit(question.follow_up)

    for question in part.stages[stage].record.questions:
        visit(question)
    return tuple(missing)
