"""The checker the cross-field checks share: findings, and references that resolve.

Each check adds a `Finding` with the path of the value to fix; the loader turns
findings into problems with line and column. Nothing stops at the first finding.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flagramp.core.errors import InvalidSegment
from flagramp.core.flags.segments import parse_rule
from flagramp.core.plans.base import TBD
from flagramp.core.plans.declared_events import EventDecl, resolve_event
from flagramp.core.plans.gonogo import GoNoGo
from flagramp.core.plans.plan import Plan, Signature
from flagramp.core.plans.problems import Finding, Loc
from flagramp.core.plans.stages import Question, Record


class Checker:
    """Collects findings on one plan; the `check_*` modules add to it."""

    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self.findings: list[Finding] = []

    def add(self, loc: Loc, message: str, hint: str = "") -> None:
        """Record one problem at `loc`."""
        self.findings.append(Finding(loc, message, hint))

    def role(self, loc: Loc, name: str, needs: Signature | None = None) -> None:
        """`name` is a role of the plan (that may sign `needs`)."""
        role = self.plan.roles.get(name)
        if role is None:
            known = ", ".join(sorted(self.plan.roles))
            self.add(
                loc,
                "'TBD' is left to decide"
                if name == TBD
                else f"role {name!r} is not defined under `roles`",
                f"use one of {known}",
            )
        elif needs is not None and needs not in role.signs:
            self.add(
                loc,
                f"role {name!r} may not sign {needs.value}",
                f"add {needs.value} to roles.{name}.signs",
            )

    def roles(self, loc: Loc, names: Iterable[str], needs: Signature | None) -> None:
        """Every name is a role that may sign `needs`."""
        for i, name in enumerate(names):
            self.role((*loc, i), name, needs)

    def metric(self, loc: Loc, name: str) -> None:
        """`name` is a metric of the plan."""
        if name not in self.plan.metrics:
            known = ", ".join(sorted(self.plan.metrics)) or "none defined yet"
            self.add(
                loc,
                "'TBD' is left to decide"
                if name == TBD
                else f"metric {name!r} is not defined under `metrics`",
                f"metrics: {known}",
            )

    def event(self, loc: Loc, name: str) -> EventDecl | None:
        """The declaration of an event name, or a finding if it has none."""
        resolved = resolve_event(self.plan.events, name)
        if resolved is not None:
            return resolved[0]
        known = [*self.plan.events]
        known += [
            f"{n}_failed" for n, e in self.plan.events.items() if e.kind == "request"
        ]
        close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
        if close:
            hint = f"did you mean {close[0]!r}?"
        elif not self.plan.events:
            hint = "declare the events the application sends under `events`"
        else:
            hint = f"declare it under `events`: {name}: {{kind: request}}"
        self.add(loc, f"event {name!r} is not declared under `events`", hint)
        return None

    def rules(self, loc: Loc, rules: Iterable[str]) -> None:
        """Every rule parses as a segment rule."""
        for i, rule in enumerate(rules):
            try:
                parse_rule(rule)
            except InvalidSegment as exc:
                self.add(
                    (*loc, i), exc.detail, "write a rule like `ehr in [oracle, cerner]`"
                )

    def unique(self, loc: Loc, names: list[str], field: str) -> None:
        """No two items under `loc` share `field`."""
        seen: set[str] = set()
        for i, name in enumerate(names):
            if name in seen:
                self.add(
                    (*loc, i, field),
                    f"{name!r} is used twice",
                    "give each a distinct name",
                )
            seen.add(name)

    def unique_values(self, loc: Loc, values: Iterable[str]) -> None:
        """No value is listed twice under `loc`."""
        seen: set[str] = set()
        for i, value in enumerate(values):
            if value in seen:
                self.add((*loc, i), f"{value!r} is listed twice")
            seen.add(value)

    def timezone(self, loc: Loc, name: str) -> None:
        """`name` is an IANA time zone."""
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            self.add(
                loc,
                f"{name!r} is not a time zone",
                "use an IANA name such as America/New_York",
            )

    def gonogo(self, loc: Loc, gate: GoNoGo | None) -> None:
        """The gate's roles may sign go/no-go and have people enough for its quorum."""
        if gate is None:
            return
        for i, name in enumerate(gate.roles):
            self.role((*loc, "roles", i), name, Signature.GO_NO_GO)
            role = self.plan.roles.get(name)
            if role is not None and len(role.people) < gate.quorum:
                self.add(
                    (*loc, "quorum"),
                    f"a quorum of {gate.quorum} needs {gate.quorum} people in role "
                    f"{name!r}, which has {len(role.people)}",
                )

    def record(self, loc: Loc, record: Record) -> None:
        """The record's metrics exist and its questions are answerable."""
        for i, name in enumerate(record.metrics):
            self.metric((*loc, "metrics", i), name)
        self.questions((*loc, "questions"), record.questions)

    def questions(self, loc: Loc, questions: Iterable[Question]) -> None:
        """Each question names a person's role or a query, and both resolve."""
        for i, question in enumerate(questions):
            self.question((*loc, i), question)

    def question(self, loc: Loc, question: Question) -> None:
        """One question, and its follow-up, is answerable."""
        if question.answered_by is None and question.query is None:
            self.add(
                loc,
                "a question needs `answered_by` (a role) or `query` (a metric)",
                "write {text: …, answered_by: <role>} or {text: …, query: <metric>}",
            )
        if question.answered_by is not None:
            self.role((*loc, "answered_by"), question.answered_by)
        if question.query is not None:
            self.metric((*loc, "query"), question.query)
        if question.follow_up is not None:
            self.question((*loc, "follow_up"), question.follow_up)
