"""Go/no-go gates in a report: who was asked, who answered what, who has not yet.

The engine asks gates by kind and index (`go_no_go_asked` {kind, index}) and
votes name no place (`voted` belongs to the gate last asked). `scope_of` maps
an asked gate back to the plan's gate it is, with the plan's own rules
(`core.plans.entry_gates`, `stage_exit`): a stage's own go/no-go, a phase's
entry go/no-go, or the go live's, asked before the plan's last step to 100 %.
"""

from __future__ import annotations

from flagramp.core.plans import (
    Answer,
    GoNoGo,
    Plan,
    RolloutPhase,
    decide,
    entry_gates,
    stage_exit,
)
from flagramp.reports.context import ReportContext
from flagramp.reports.model import GoNoGoReport, Pending, VoteRow
from flagramp.reports.run_log import GO_NO_GO_ASKED, VOTED, Gate, text_of

#: Which gate of the plan: ("stage", phase, stage), ("entry", phase, None),
#: ("go_live", None, None), or ("other", None, None) when it cannot be told.
Scope = tuple[str, int | None, int | None]
GO_LIVE: Scope = ("go_live", None, None)


def stage_scope(phase: int, stage: int) -> Scope:
    """The scope of a stage's own go/no-go."""
    return ("stage", phase, stage)


def entry_scope(phase: int) -> Scope:
    """The scope of a phase's entry go/no-go."""
    return ("entry", phase, None)


def scope_of(plan: Plan, gate: Gate) -> Scope:
    """Which of the plan's gates an asked gate is."""
    if gate.phase is None or not 0 <= gate.phase < len(plan.phases):
        return ("other", None, None)
    phase = plan.phases[gate.phase]
    gates: tuple[GoNoGo | None, ...]
    if gate.kind == "entry":
        gates, default = entry_gates(plan, gate.phase), entry_scope(gate.phase)
    else:
        if (
            not isinstance(phase, RolloutPhase)
            or gate.stage is None
            or not 0 <= gate.stage < len(phase.stages)
        ):
            return ("other", None, None)
        rule = stage_exit(plan, gate.phase, gate.stage)
        own = phase.stages[gate.stage].go_no_go
        gates = rule.gates
        if gate.kind == "undecided":
            # The engine asks `undecided_asks` first, then the other gates.
            gates = (None, *(g for g in rule.gates if g is not own))
        default = stage_scope(gate.phase, gate.stage)
    found = gates[gate.index] if 0 <= gate.index < len(gates) else None
    go_live = plan.go_live.go_no_go if plan.go_live is not None else None
    if found is not None and found is go_live:
        return GO_LIVE
    return default


def gate_report(ctx: ReportContext, gate: GoNoGo, scope: Scope) -> GoNoGoReport:
    """The plan's gate with the askings and votes the run logged for it."""
    votes = []
    answers: dict[str, dict[str, Answer]] = {}
    asked_at = None
    for item in ctx.located:
        if item.gate is None or scope_of(ctx.plan, item.gate) != scope:
            continue
        event = item.event
        if event.kind in GO_NO_GO_ASKED and asked_at is None:
            asked_at = event.at
        if event.kind not in VOTED:
            continue
        role = text_of(event.data, "role")
        answer = text_of(event.data, "answer").lower()
        person = event.actor or text_of(event.data, "person")
        if role not in gate.roles or answer not in {a.value for a in Answer}:
            continue
        votes.append(
            VoteRow(
                ctx.role_title(role),
                person,
                answer,
                event.at,
                text_of(event.data, "comment", "note"),
            )
        )
        answers.setdefault(role, {})[person] = Answer(answer)
    waiting = tuple(
        Pending("not answered yet", ctx.who(role))
        for role in gate.roles
        if not answers.get(role)
    )
    outcome = decide(gate, answers).value
    if asked_at is None and not votes:
        outcome = "not asked yet"
    return GoNoGoReport(
        roles=tuple(ctx.role_title(r) for r in gate.roles),
        note=gate.note,
        asked_at=asked_at,
        votes=tuple(votes),
        waiting=waiting,
        outcome=outcome,
        risks=ctx.plan.risks,
    )
