"""How each kind of draft value is written: found values, TBDs, questions, and the
parts after the stages (rollback, go live)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import TypeVar

from flagramp.core.plans.base import TBD
from flagramp.core.plans.durations import Duration
from flagramp.core.plans.markdown.decisions import DECIDE
from flagramp.core.plans.markdown.draft import (
    DraftGoLive,
    DraftQuestion,
    DraftRollback,
    Found,
    Tbd,
)
from flagramp.core.plans.markdown.yaml_writer import (
    Mapping,
    Scalar,
    Sequence,
)

T = TypeVar("T")


class Emitter:
    """Writes values with comments that name `file` and its lines."""

    def __init__(self, file: str) -> None:
        self.file = file

    def place(self, line: int) -> str:
        """`plan.md:42`."""
        return f"{self.file}:{line}"

    def source(self, line: int, written: str = "", note: str = "") -> str:
        """The comment of a found value: `from plan.md:34 ("1 hr")`."""
        text = f"from {self.place(line)}"
        if written:
            text += f' ("{written}")'
        if note and note not in written:
            text += f"; the document adds: {note}"
        return text

    def tbd(self, slot: Tbd, field: str) -> Scalar:
        """`TBD  # decide: …`, saying where the document leaves it blank."""
        text = f"decide: {DECIDE[field]}"
        if slot.said and slot.line:
            text += f'; {self.place(slot.line)} says "{slot.said}"'
        elif slot.said:
            text += f"; {slot.said}"
        elif slot.line:
            text += f" (blank at {self.place(slot.line)})"
        return Scalar(TBD, text)

    def scalar(self, slot: Found[T] | Tbd, field: str) -> Scalar:
        """A found value, or a TBD."""
        if isinstance(slot, Tbd):
            return self.tbd(slot, field)
        value: object = slot.value
        if isinstance(value, Duration):
            value = value.text
        assert isinstance(value, str | int | float | bool | dt.date)
        return Scalar(value, self.source(slot.line, slot.written, slot.note))

    def slot(
        self, mapping: Mapping, key: str, slot: Found[T] | Tbd, field: str
    ) -> None:
        """Add `key: value` (or `key: TBD`)."""
        mapping.add(key, self.scalar(slot, field))

    def found(self, mapping: Mapping, key: str, slot: Found[T]) -> None:
        """Add a found value."""
        mapping.add(key, self.scalar(slot, key))

    def record(
        self, questions: Iterable[DraftQuestion], metrics: Tbd | None
    ) -> Mapping | None:
        """A stage's or checkpoint's `record`, or None when it records nothing."""
        record = Mapping()
        if metrics is not None:
            record.add("metrics", self.tbd(metrics, "record.metrics"))
        asked = self.questions(questions)
        if asked.items:
            record.add("questions", asked)
        return record if record.entries else None

    def questions(self, questions: Iterable[DraftQuestion]) -> Sequence:
        """Questions, each answered by a role to decide."""
        out = Sequence()
        for question in questions:
            out.add(self.question(question))
        return out

    def question(self, question: DraftQuestion) -> Mapping:
        """One question with its answer or sample answer."""
        entry = Mapping()
        self.slot(entry, "text", question.text, "text")
        if question.yes_no:
            entry.add("yes_no", Scalar(True, self.source(question.text.line, "yes/no")))
        entry.add("answered_by", self.tbd(Tbd(), "answered_by"))
        answer = question.answer
        if answer is not None and question.sample:
            comment = (
                f"a sample in the document ({self.place(answer.line)}), never a result"
            )
            entry.add("sample_answer", Scalar(answer.value, comment))
        elif answer is not None:
            entry.add("answer", self.scalar(answer, "answer"))
        if question.follow_up is not None:
            entry.add("follow_up", self.question(question.follow_up))
        return entry

    def rollback(self, rollback: DraftRollback | None) -> Mapping | Scalar:
        """The rollback policy, or a TBD when the document has none."""
        if rollback is None:
            return self.tbd(Tbd(), "rollback")
        policy = Mapping()
        if rollback.procedure:
            steps = Sequence()
            for step in rollback.procedure:
                steps.add(self.scalar(step, "procedure"))
            policy.add("procedure", steps)
        above = tuple(
            f"hint (the document, {self.place(h.line)}): {h.text}"
            for h in rollback.hints
        )
        if rollback.sample:
            above = (
                f"{self.place(rollback.line)} marks this process as a sample: "
                "its actions are left to decide",
                *above,
            )
        if rollback.severities:
            severities = Mapping()
            for policy_of in rollback.severities:
                rule = Mapping()
                rule.add("action", self.scalar(policy_of.action, "action"))
                if policy_of.revert_required is not None:
                    rule.add(
                        "revert_required",
                        self.scalar(policy_of.revert_required, "revert"),
                    )
                if policy_of.steps:
                    steps = Sequence()
                    for step in policy_of.steps:
                        steps.add(self.scalar(step, "steps"))
                    rule.add("steps", steps)
                severities.add(
                    policy_of.severity.value, rule, self.source(policy_of.line)
                )
            policy.add("severities", severities, above=above)
        else:
            policy.add("severities", self.tbd(Tbd(), "severities"), above=above)
        reenable = Mapping()
        reenable.add("approved_by", self.tbd(Tbd(), "approved_by"))
        policy.add("re-enable", reenable)
        if any(s.revert_required for s in rollback.severities):
            policy.add("revert_confirmed_by", self.tbd(Tbd(), "revert_confirmed_by"))
        return policy

    def go_live(self, go_live: DraftGoLive) -> Mapping:
        """Go live: date, go/no-go, KPIs, checkpoints and questions."""
        entry = Mapping()
        if go_live.date is not None:
            self.slot(entry, "date", go_live.date, "go_live.date")
        if go_live.go_no_go_line is not None:
            gate = Mapping()
            gate.add("roles", self.tbd(Tbd(go_live.go_no_go_line), "go_no_go.roles"))
            if go_live.go_no_go_note is not None:
                self.found(gate, "note", go_live.go_no_go_note)
            entry.add("go_no_go", gate)
        if go_live.kpis:
            kpis = Sequence()
            for kpi in go_live.kpis:
                item = Mapping()
                self.found(item, "name", kpi.name)
                self.slot(item, "description", kpi.description, "kpi.description")
                item.add("metric", self.tbd(Tbd(), "kpi.metric"))
                if kpi.below is not None:
                    self.found(item, "below", kpi.below)
                elif kpi.above is not None:
                    self.found(item, "above", kpi.above)
                else:
                    item.add("below", self.tbd(Tbd(kpi.name.line), "kpi.target"))
                kpis.add(item)
            entry.add("kpis", kpis)
        if go_live.checkpoints:
            checkpoints = Sequence()
            for checkpoint in go_live.checkpoints:
                item = Mapping()
                self.found(item, "name", checkpoint.name)
                self.slot(item, "after", checkpoint.after, "checkpoint.after")
                record = self.record(checkpoint.questions, None)
                if record is not None:
                    item.add("record", record)
                checkpoints.add(item)
            entry.add("checkpoints", checkpoints)
        if go_live.questions:
            entry.add("questions", self.questions(go_live.questions))
        return entry
