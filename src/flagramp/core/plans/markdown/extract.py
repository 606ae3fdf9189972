"""Read a document in VA's release-plan template into a `Draft`.

Sections are read by what their headings name (phase, stage, rollback, go
live, post-launch questions, risks); the rest of the document is its header
(`extract_header`). Phase planning written outside a phase heading (seed 002)
belongs to the stages that follow it.
"""

from __future__ import annotations

from dataclasses import replace

from flagramp.core.plans.markdown import rules
from flagramp.core.plans.markdown.draft import (
    Draft,
    DraftGoLive,
    DraftPhase,
    DraftQuestion,
    DraftRollback,
    DraftStage,
    Found,
    Tbd,
)
from flagramp.core.plans.markdown.errors import DocumentUnreadable
from flagramp.core.plans.markdown.extract_header import Header, hints, paragraphs
from flagramp.core.plans.markdown.extract_phases import (
    PhaseParts,
    build_phase,
    outside,
    planning_line,
    read_phase,
)
from flagramp.core.plans.markdown.extract_policy import (
    ROLLBACK_PARTS,
    read_go_live,
    read_questions,
    read_rollback,
)
from flagramp.core.plans.markdown.extract_stages import read_stage
from flagramp.core.plans.markdown.outline import Kind, outline
from flagramp.core.plans.markdown.sections import Part, Section, sections


def read_draft(text: str, file: str) -> Draft:
    """The draft plan a document describes; raises DocumentUnreadable."""
    reader = _Reader(file)
    reader.visit(sections(outline(text, file)))
    return reader.draft()


class _Reader:
    def __init__(self, file: str) -> None:
        self.file = file
        self.header = Header()
        self.phases: list[DraftPhase] = []
        self.rollback: DraftRollback | None = None
        self.go_live: DraftGoLive | None = None
        self.questions: list[DraftQuestion] = []
        self.risks: list[Found[str]] = []
        # Phase planning outside a phase heading, and stages outside any phase.
        self.loose: tuple[Section, PhaseParts] | None = None
        self.loose_stages: list[DraftStage] = []

    def visit(self, section: Section) -> None:
        """Read a section by the template part it is; the header's, and descend."""
        part = section.part
        if part is Part.PHASE:
            self._close_loose()
            phase = read_phase(section)
            self.phases.append(phase)
            self.header.toggles_of(phase)
            for other in outside(section):
                self.visit(other)
        elif part is Part.STAGE:
            self.loose_stages.append(read_stage(section))
        elif part is Part.ROLLBACK or part is Part.SEVERITY:
            self.rollback = read_rollback(section, self.rollback)
            for inner in section.walk():
                for child in inner.children:
                    if child.part not in ROLLBACK_PARTS:
                        self.visit(child)
        elif part is Part.RISKS:
            self.risks.extend(
                Found(rules.text(b.text)[0], b.line)
                for b in section.items()
                if b.kind in (Kind.ITEM, Kind.TEXT) and not rules.is_blank(b.text)
            )
        elif part is Part.GO_LIVE:
            self.go_live = read_go_live(section)
        elif part is Part.QUESTIONS:
            self.questions.extend(read_questions(section.items()))
        elif part is Part.HYPOTHESIS:
            self.header.hypothesis.extend(
                b for b in section.items() if b.kind is Kind.TEXT
            )
        elif part is Part.CRITERIA:
            self.header.metric_hints.extend(hints(section.items()))
        else:
            self._header(section)
            for child in section.children:
                self.visit(child)

    def _header(self, section: Section) -> None:
        self.header.heading(section)
        parts = PhaseParts()
        after_rollout = bool(self.phases or self.loose_stages)
        for block in section.blocks:
            if not planning_line(block, section.sample, parts):
                self.header.block(block, section, after_rollout)
        if not parts.is_empty:
            self._close_loose()
            self.loose = (section, parts)

    def _close_loose(self) -> None:
        """Stages outside a phase heading form a phase with the loose planning."""
        if not self.loose_stages:
            return
        section, parts = self.loose if self.loose else (None, PhaseParts())
        title = section.title.strip(" *:") if section else ""
        name: Found[str] | Tbd = (
            Found(title, section.line) if section and title else Tbd()
        )
        line = section.line if section else self.loose_stages[0].line
        self.phases.append(build_phase(name, line, Tbd(), parts, self.loose_stages, []))
        self.loose, self.loose_stages = None, []

    def draft(self) -> Draft:
        """The draft of everything read; raises when no phase or stage was found."""
        self._close_loose()
        if not self.phases:
            raise DocumentUnreadable(
                self.file,
                "no phases or stages in the release-plan template's shape "
                "(headings such as `## Phase I: <toggle>` and `### Stage A: Canary`)",
            )
        phases = list(self._with_flags())
        header = self.header
        if header.late:
            phases[-1] = replace(phases[-1], notes=(*phases[-1].notes, *header.late))
        go_live = self.go_live
        if self.questions:
            go_live = go_live or DraftGoLive(self.questions[0].text.line)
            go_live = _with_questions(go_live, self.questions)
        title = header.title or Tbd()
        name: Found[str] | Tbd = (
            Found(rules.slug(title.value), title.line, title.value)
            if isinstance(title, Found) and rules.slug(title.value)
            else Tbd()
        )
        return Draft(
            self.file,
            title,
            name,
            header.status,
            paragraphs(header.summary),
            paragraphs(header.hypothesis),
            tuple(header.links),
            tuple(header.toggles.values()),
            tuple(header.prerequisites),
            tuple(phases),
            self.rollback,
            go_live,
            tuple(header.metric_hints),
            tuple(self.risks),
            tuple(p.monitored_by for p in phases if p.monitored_by),
        )

    def _with_flags(self) -> tuple[DraftPhase, ...]:
        """A single phase naming no toggle takes the document's toggles."""
        undecided = [p for p in self.phases if isinstance(p.flags, Tbd)]
        named = [p for p in self.phases if not isinstance(p.flags, Tbd)]
        flags = tuple(f.key for f in self.header.toggles.values())
        if len(undecided) == 1 and not named and flags:
            return tuple(
                replace(p, flags=flags) if p is undecided[0] else p for p in self.phases
            )
        if flags:
            said = "the document's toggles: " + ", ".join(f.value for f in flags)
            return tuple(
                replace(p, flags=Tbd(None, said)) if isinstance(p.flags, Tbd) else p
                for p in self.phases
            )
        return tuple(self.phases)


def _with_questions(
    go_live: DraftGoLive, questions: list[DraftQuestion]
) -> DraftGoLive:
    return replace(go_live, questions=(*go_live.questions, *questions))
