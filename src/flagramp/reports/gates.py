"""Go/no-go gates in a report: who was asked, who answered what, who has not yet."""

from __future__ import annotations

from collections.abc import Callable

from flagramp.core.plans import Answer, GoNoGo, decide
from flagramp.reports.context import ReportContext
from flagramp.reports.model import GoNoGoReport, Pending, VoteRow
from flagramp.reports.run_log import (
    GO_NO_GO_ASKED,
    VOTED,
    of_kind,
    text_of,
)
from flagramp.reports.run_record import RunEvent

#: Selects the log events that belong to one gate.
EventFilter = Callable[[RunEvent], bool]


def gate_report(ctx: ReportContext, gate: GoNoGo, belongs: EventFilter) -> GoNoGoReport:
    """The gate with the votes and the asking that `belongs` selects."""
    votes = []
    answers: dict[str, dict[str, Answer]] = {}
    for event in of_kind(ctx.events, VOTED):
        if not belongs(event):
            continue
        role = text_of(event.data, "role")
        answer = text_of(event.data, "answer").lower()
        person = event.actor or text_of(event.data, "person")
        if role not in gate.roles or answer not in set(Answer):
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
    asked = [e for e in of_kind(ctx.events, GO_NO_GO_ASKED) if belongs(e)]
    waiting = tuple(
        Pending("not answered yet", ctx.who(role))
        for role in gate.roles
        if sum(a is Answer.LAUNCH for a in answers.get(role, {}).values()) < gate.quorum
        and not answers.get(role)
    )
    outcome = decide(gate, answers).value
    if not asked and not votes:
        outcome = "not asked yet"
    risks = ctx.plan.risks
    return GoNoGoReport(
        roles=tuple(ctx.role_title(r) for r in gate.roles),
        note=gate.note,
        asked_at=asked[0].at if asked else None,
        votes=tuple(votes),
        waiting=waiting,
        outcome=outcome,
        risks=risks,
    )
