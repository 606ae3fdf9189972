"""The document's header: what a plan says about itself before its phases.

The title, a status, the summary and hypothesis, links, toggles (list items and
table rows that name snake_case toggles), prerequisites (task items before the
rollout) and hints from metrics tables.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from flagramp.core.plans.markdown import rules
from flagramp.core.plans.markdown.draft import (
    DraftFlag,
    DraftLink,
    DraftPhase,
    Found,
    Hint,
    Tbd,
)
from flagramp.core.plans.markdown.outline import Block, Kind
from flagramp.core.plans.markdown.sections import Part, Section

_DRAFT_MARK = re.compile(r"^[-\s*_]*draft\b", re.I)


class Header:
    """What the header says, as it is read."""

    def __init__(self) -> None:
        self.title: Found[str] | None = None
        self.status: Found[str] | None = None
        self.summary: list[Block] = []
        self.hypothesis: list[Block] = []
        self.links: list[DraftLink] = []
        self.toggles: dict[str, DraftFlag] = {}
        self.prerequisites: list[Found[str]] = []
        self.late: list[Found[str]] = []
        """Task items after the rollout: what the team does next (seed 003)."""
        self.metric_hints: list[Hint] = []

    def heading(self, section: Section) -> None:
        """Read a section's heading: the title, or a `# --DRAFT--` status."""
        heading = section.heading
        if heading is None or heading.level != 1 or not heading.text:
            return
        if _DRAFT_MARK.match(heading.text):
            status = " ".join(re.sub(r"-{2,}", " ", heading.text).split())
            self.status = self.status or Found(status, heading.line)
        elif self.title is None:
            self.title = Found(rules.text(heading.text)[0], heading.line)

    def block(self, block: Block, section: Section, after_rollout: bool) -> None:
        """Read one block of a header section."""
        labelled = rules.split_label(block.text)
        if block.kind is Kind.ROW:
            self._row(block)
        elif block.checkbox:
            found = Found(rules.text(block.text)[0], block.line)
            (self.late if after_rollout else self.prerequisites).append(found)
        elif (
            labelled and labelled.key == "status" and not rules.is_blank(labelled.value)
        ):
            self.status = Found(labelled.value.strip(" *_"), block.line)
        elif block.kind is Kind.ITEM and rules.toggles(block.text, block.code):
            names = rules.toggles(block.text, block.code)
            rest = rules.without(block.text, names)
            for name in names:
                described = len(names) == 1 and rest and not rules.is_blank(rest)
                self.toggle(
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

    def toggles_of(self, phase: DraftPhase) -> None:
        """The toggles a phase heading names."""
        if isinstance(phase.flags, tuple):
            for flag in phase.flags:
                self.toggle(flag.value, flag.line, Tbd())

    def toggle(self, name: str, line: int, description: Found[str] | Tbd) -> None:
        """A toggle, first where it is named; a later description fills a blank."""
        known = self.toggles.get(name)
        if known is None or (
            isinstance(known.description, Tbd) and isinstance(description, Found)
        ):
            self.toggles[name] = DraftFlag(
                known.key if known else Found(name, line), description
            )

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
            self.toggle(
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


def hints(blocks: Iterable[Block]) -> list[Hint]:
    """The team's own words about criteria and metrics (items, rows) as hints."""
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


def paragraphs(blocks: list[Block]) -> Found[str] | None:
    """Lines of text as one value, at the first line's place."""
    blocks = [b for b in blocks if not rules.is_blank(b.text)]
    if not blocks:
        return None
    value, cut = rules.text(" ".join(b.text for b in blocks))
    return Found(value, blocks[0].line, note=cut)
