"""The document as nested sections, each named for the template's part it is.

A section is a heading and what follows it up to the next heading of the same
or a higher level. The template also writes headings as bold lines
(`**Stage A: 5% of users**`, `**Planning**`); those become sections too, below
every real heading, a stage above its planning and results.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import StrEnum

from flagramp.core.plans.markdown.outline import Block, Kind

#: Levels for bold lines used as headings: below any Markdown heading (1-6).
STAGE_LEVEL = 7
PART_LEVEL = 8


class Part(StrEnum):
    """Which part of the template a section is."""

    PHASE = "phase"
    STAGE = "stage"
    PLANNING = "planning"
    RESULTS = "results"
    CHECKPOINT = "checkpoint"
    ROLLBACK = "rollback"
    SEVERITY = "severity"
    GO_LIVE = "go_live"
    QUESTIONS = "questions"
    HYPOTHESIS = "hypothesis"
    BACKGROUND = "background"
    PREREQUISITES = "prerequisites"
    CRITERIA = "criteria"
    RISKS = "risks"
    OTHER = "other"


#: A share of users in a heading: `5% of users`, `(20% of eligible users)`.
USERS_SHARE = re.compile(
    r"\d+(?:\.\d+)?\s*%?\s*(?:-|–|to)?\s*\d*(?:\.\d+)?\s*%\s+of\s+"
    r"(?:the\s+|all\s+)?(?:eligible\s+)?users",
    re.I,
)
#: In the order they are tried; the first match names the section.
_PARTS: tuple[tuple[Part, re.Pattern[str]], ...] = (
    (Part.PHASE, re.compile(r"^phase\b", re.I)),
    (Part.STAGE, re.compile(r"^stage\s+[a-z0-9]+\b", re.I)),
    (Part.STAGE, USERS_SHARE),
    (Part.CHECKPOINT, re.compile(r"^\d+[- ](?:day|week|month)s?\s+results\b", re.I)),
    (Part.PLANNING, re.compile(r"^(?:rollout\s+)?planning\b", re.I)),
    (Part.RESULTS, re.compile(r"^results\b", re.I)),
    (Part.SEVERITY, re.compile(r"^if an? (?:critical|high|medium|low)\b", re.I)),
    (Part.RISKS, re.compile(r"\brisks?\b", re.I)),
    (Part.ROLLBACK, re.compile(r"roll\s*-?\s*back", re.I)),
    (Part.GO_LIVE, re.compile(r"^go[- ]live\b", re.I)),
    (Part.QUESTIONS, re.compile(r"post[- ]launch questions", re.I)),
    (Part.HYPOTHESIS, re.compile(r"^hypothesis\b", re.I)),
    (Part.PREREQUISITES, re.compile(r"prerequisite", re.I)),
    (Part.CRITERIA, re.compile(r"criteria|\bmetrics\b", re.I)),
    (
        Part.BACKGROUND,
        re.compile(r"product outline|background|executive summary", re.I),
    ),
)
#: Bold lines that act as headings: a stage, its planning, its results.
_BOLD_PARTS = frozenset({Part.STAGE, Part.PLANNING, Part.RESULTS})
#: A heading that marks its section as a template's example, not the team's own.
SAMPLE = re.compile(r"\bsample\b", re.I)


@dataclass
class Section:
    """A heading (None for the text before the first) and what it holds."""

    heading: Block | None
    level: float
    """The heading's level; a stage written at its phase's level sits half a
    level below it."""
    part: Part
    sample: bool
    blocks: list[Block] = field(default_factory=list)
    children: list[Section] = field(default_factory=list)

    @property
    def title(self) -> str:
        """The heading's text, or "" for the document's start."""
        return self.heading.text if self.heading else ""

    @property
    def line(self) -> int:
        """The heading's line (1 for the document's start)."""
        return self.heading.line if self.heading else 1

    def walk(self) -> Iterator[Section]:
        """This section and every section inside it, in document order."""
        yield self
        for child in self.children:
            yield from child.walk()

    def items(self) -> Iterator[Block]:
        """The blocks of this section and every section inside it."""
        for section in self.walk():
            yield from section.blocks


def part_of(title: str) -> Part:
    """The template part a heading names."""
    text = title.strip().strip("*_").strip()
    text = re.sub(r"^(?:\d+(?:\.\d+)*\.?|[IVX]+\.)\s+", "", text)  # `5.2 `, `II. `
    for part, pattern in _PARTS:
        if pattern.search(text):
            return part
    return Part.OTHER


def sections(blocks: list[Block]) -> Section:
    """The document's sections under one root."""
    root = Section(None, 0, Part.OTHER, False)
    stack = [root]
    for block in blocks:
        level: float | None = _heading_level(block)
        if level is None:
            stack[-1].blocks.append(block)
            continue
        part = part_of(block.text)
        while stack[-1].level >= level:
            if part is Part.STAGE and stack[-1].part is Part.PHASE:
                # `### Stage A` right under `### Phase II` belongs to it.
                level = stack[-1].level + 0.5
                break
            stack.pop()
        parent = stack[-1]
        section = Section(
            block,
            level,
            part,
            parent.sample or bool(SAMPLE.search(block.text)),
        )
        parent.children.append(section)
        stack.append(section)
    return root


def _heading_level(block: Block) -> float | None:
    if block.kind is Kind.HEADING:
        return block.level
    if block.kind is Kind.TEXT and block.bold:
        part = part_of(block.text)
        if part in _BOLD_PARTS:
            return STAGE_LEVEL if part is Part.STAGE else PART_LEVEL
    return None
