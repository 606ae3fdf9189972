"""Read a document in VA's release-plan template into a `Draft`.

Sections are read by what their headings name (phase, stage, rollback, go
live, post-launch questions); the rest of the document is its header: the
title, the toggles (list items and table rows naming snake_case toggles),
links, prerequisites (task items) and phase planning written outside a
phase heading (seed 002), which then belongs to the stages that follow.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import replace

from flagramp.core.plans.markdown import rules
from flagramp.core.plans.markdown.draft import (
    Draft,
    DraftFlag,
    DraftGoLive,
    DraftLink,
    DraftPhase,
    DraftQuestion,
    DraftRollback,
    DraftStage,
    Found,
    Hint,
    Tbd,
)
from flagramp.core.plans.markdown.errors import DocumentUnreadable
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
from flagramp.core.plans.markdown.outline import Block, Kind, outline
from flagramp.core.plans.markdown.sections import Part, Section, sections

_DRAFT_MARK = re.compile(r"^[-\s*_]*draft\b", re.I)


def read_draft(text: str, file: str) -> Draft:
    """The draft plan a document describes; raises DocumentUnreadable."""
    reader = _Reader(file)
    reader.visit(sections(outline(text, file)))
    return reader.draft()


class _Reader:
    def __init__(self, file: str) -> None:
        self.file = file
        self.title: Found[str] | None = None
        self.status: Found[str] | None = None
        self.summary: list[Block] = []
        self.hypothesis: list[Block] = []
        self.links: list[DraftLink] = []
        self.toggles: dict[str, DraftFlag] = {}
        self.prerequisites: list[Found[str]] = []
        self.phases: list[DraftPhase] = []
        self.rollback: DraftRollback | None = None
        self.go_live: DraftGoLive | None = None
        self.questions: list[DraftQuestion] = []
        self.metric_hints: list[Hint] = []
        self.risks: list[Found[str]] = []
        self.late: list[Found[str]] = []
        # Phase planning outside a phase heading, and stages outside any phase.
        self.loose: tuple[Section, PhaseParts] | None = None
        self.loose_stages: list[DraftStage] = []

    def visit(self, section: Section) -> None:
        part = section.part
        if part is Part.PHASE:
            self._close_loose()
            phase = read_phase(section)
            self.phases.append(phase)
            self._toggles_of(phase)
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
            self.hypothesis.extend(b for b in section.items() if b.kind is Kind.TEXT)
        elif part is Part.CRITERIA:
            self.metric_hints.extend(_hints(section.items()))
        else:
            self._header(section)
            for child in section.children:
                self.visit(child)

    def _header(self, section: Section) -> None:
        heading = section.heading
        if heading is not None and heading.level == 1 and heading.text:
            if _DRAFT_MARK.match(heading.text):
                status = " ".join(re.sub(r"-{2,}", " ", heading.text).split())
                self.status = self.status or Found(status, heading.line)
            elif self.title is None:
                self.title = Found(rules.text(heading.text)[0], heading.line)
        parts = PhaseParts()
        for block in section.blocks:
            if planning_line(block, section.sample, parts):
                continue
            self._header_block(block, section)
        if not parts.is_empty:
            self._close_loose()
            self.loose = (section, parts)

    def _header_block(self, block: Block, section: Section) -> None:
        labelled = rules.split_label(block.text)
        if block.kind is Kind.ROW:
            self._row(block)
        elif block.checkbox:
            # Task items before the rollout are prerequisites; after it they
            # are what the team does next (seed 003's nudging), kept as notes.
            found = Found(rules.text(block.text)[0], block.line)
            (
                self.late if self.phases or self.loose_stages else self.prerequisites
            ).append(found)
        elif (
            labelled and labelled.key == "status" and not rules.is_blank(labelled.value)
        ):
            self.status = Found(labelled.value.strip(" *_"), block.line)
        elif block.kind is Kind.ITEM and rules.toggles(block.text, block.code):
            names = rules.toggles(block.text, block.code)
            rest = rules.without(block.text, names)
            for name in names:
                described = len(names) == 1 and rest and not rules.is_blank(rest)
                self._toggle(
                    name,
                    block.line,
                    Found(rest, block.line) if described else Tbd(block.line),
                )
        elif block.kind is Kind.TEXT and (
            section.part is Part.BACKGROUND or section.level <= 1
        ):
            short_label = labelled is not None and len(labelled.label.split()) <= 3
            if not (
                block.bold or short_label or block.links or rules.urls(block.text)
            ) and not rules.is_blank(block.text):
                self.summary.append(block)
        self._links(block, labelled)

    def _row(self, block: Block) -> None:
        cells = block.cells
        if block.header or not any(cells):
            return
        named = [(i, rules.toggles(c)) for i, c in enumerate(cells)]
        names = [n for _, found in named for n in found]
        if not names:
            about_metrics = any(
                w in " ".join(block.columns).lower() for w in ("metric", "watch")
            )
            if about_metrics and cells[0] and not rules.is_blank(cells[0]):
                rest = " — ".join(c for c in cells[1:] if c and not rules.is_blank(c))
                text = f"{cells[0]}: {rest}" if rest else cells[0]
                self.metric_hints.append(Hint(text, block.line, "document"))
            return
        others = [c for i, c in enumerate(cells) if not named[i][1] and c]
        described = others[0] if others and not rules.is_blank(others[0]) else ""
        for name in names:
            self._toggle(
                name,
                block.line,
                Found(described, block.line) if described else Tbd(block.line),
            )

    def _links(self, block: Block, labelled: rules.Labelled | None) -> None:
        label = labelled.label.strip(" *_") if labelled else ""
        for text, url in block.links:
            self._link(text or label, url, block.line)
        for url in rules.urls(block.text):
            self._link(label, url, block.line)

    def _link(self, title: str, url: str, line: int) -> None:
        if (
            title
            and not rules.is_blank(title)
            and all(link.url != url for link in self.links)
        ):
            self.links.append(DraftLink(rules.text(title)[0], url, line))

    def _toggle(self, name: str, line: int, description: Found[str] | Tbd) -> None:
        known = self.toggles.get(name)
        if known is None or (
            isinstance(known.description, Tbd) and isinstance(description, Found)
        ):
            self.toggles[name] = DraftFlag(
                known.key if known else Found(name, line), description
            )

    def _toggles_of(self, phase: DraftPhase) -> None:
        if isinstance(phase.flags, tuple):
            for flag in phase.flags:
                self._toggle(flag.value, flag.line, Tbd())

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
        self._close_loose()
        if not self.phases:
            raise DocumentUnreadable(
                self.file,
                "no phases or stages in the release-plan template's shape "
                "(headings such as `## Phase I: <toggle>` and `### Stage A: Canary`)",
            )
        phases = list(self._with_flags())
        if self.late:
            phases[-1] = replace(phases[-1], notes=(*phases[-1].notes, *self.late))
        go_live = self.go_live
        if self.questions:
            go_live = go_live or DraftGoLive(self.questions[0].text.line)
            go_live = _with_questions(go_live, self.questions)
        title = self.title or Tbd()
        name: Found[str] | Tbd = (
            Found(rules.slug(title.value), title.line, title.value)
            if isinstance(title, Found) and rules.slug(title.value)
            else Tbd()
        )
        return Draft(
            self.file,
            title,
            name,
            self.status,
            _paragraphs(self.summary),
            _paragraphs(self.hypothesis),
            tuple(self.links),
            tuple(self.toggles.values()),
            tuple(self.prerequisites),
            tuple(phases),
            self.rollback,
            go_live,
            tuple(self.metric_hints),
            tuple(self.risks),
            tuple(p.monitored_by for p in phases if p.monitored_by),
        )

    def _with_flags(self) -> tuple[DraftPhase, ...]:
        """A single phase naming no toggle takes the document's toggles."""
        undecided = [p for p in self.phases if isinstance(p.flags, Tbd)]
        named = [p for p in self.phases if not isinstance(p.flags, Tbd)]
        flags = tuple(f.key for f in self.toggles.values())
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


def _hints(blocks: Iterable[Block]) -> list[Hint]:
    found: list[Hint] = []
    for block in blocks:
        text = block.text
        if block.kind is Kind.ROW:
            if block.header:
                continue
            text = " — ".join(c for c in block.cells if c and not rules.is_blank(c))
        if text and not rules.is_blank(text):
            found.append(Hint(rules.text(text)[0], block.line, "document"))
    return found


def _paragraphs(blocks: list[Block]) -> Found[str] | None:
    blocks = [b for b in blocks if not rules.is_blank(b.text)]
    if not blocks:
        return None
    text = " ".join(b.text for b in blocks)
    value, cut = rules.text(text)
    return Found(value, blocks[0].line, note=cut)
