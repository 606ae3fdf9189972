"""Phases: the toggles a phase turns on, its planning lines, and its stages.

The template's phase planning asks for a date range, how access is limited,
the success criteria and dashboard links. Success criteria are only ever
hints here: the template's examples ("things like abandonment rate < 20%")
and the team's own words both come out as comments, since a criterion needs
a metric, a limit, an mde, a severity and a mode that no line gives.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace

from flagramp.core.plans.markdown import quantities, rules
from flagramp.core.plans.markdown.draft import (
    Dashboard,
    DraftPhase,
    DraftQuestion,
    DraftStage,
    Found,
    Hint,
    Tbd,
)
from flagramp.core.plans.markdown.extract_stages import note, read_results, read_stage
from flagramp.core.plans.markdown.outline import Block
from flagramp.core.plans.markdown.sections import Part, Section
from flagramp.core.plans.phases import Link

#: Sections a phase may hold besides its stages and results; others under a
#: phase heading (a rollback process, go live) are read as the plan's own.
PHASE_PARTS = frozenset({Part.PLANNING, Part.OTHER, Part.CRITERIA})
_DATES = ("desired date range", "date range", "dates")
_AUDIENCE = ("limiting the number of users", "give the test users access")
_DASHBOARDS = ("links to dashboard", "links to the dashboard", "dashboard")


@dataclass
class PhaseParts:
    """What a phase's planning lines say, as they are read."""

    start: Found[dt.date] | Tbd | None = None
    end: Found[dt.date] | Tbd | None = None
    audience: Found[str] | Tbd | None = None
    dashboards: list[Dashboard] = field(default_factory=list)
    monitored_by: Found[str] | None = None
    hints: list[Hint] = field(default_factory=list)
    notes: list[Found[str]] = field(default_factory=list)

    @property
    def is_empty(self) -> bool:
        """True if no planning line was read."""
        return self == PhaseParts()


def planning_line(block: Block, sample: bool, parts: PhaseParts) -> bool:
    """Read one phase planning line into `parts`; False if it is not one."""
    labelled = rules.split_label(block.text)
    if labelled is None:
        return False
    key, value, line = labelled.key, labelled.value, block.line
    sample = sample or rules.is_sample(value)
    if key.startswith(_DATES) or key == "date range or test duration":
        parts.start, parts.end = _window(value, line, sample)
    elif any(phrase in key for phrase in _AUDIENCE):
        parts.audience = _text(value, line, sample)
    elif "success criteria" in key and key.startswith("what"):
        parts.hints.extend(_criteria_hints(value, line))
    elif key.startswith(_DASHBOARDS):
        parts.dashboards.extend(_dashboards(block, value, sample))
    elif key.startswith("who is monitoring"):
        if not rules.is_blank(value):
            parts.monitored_by = Found(rules.text(value)[0], line)
    else:
        return False
    return True


def read_phase(section: Section) -> DraftPhase:
    """A phase from its heading (`## Phase I: <toggle>`) and what it holds."""
    name = section.title.strip(" *:")
    toggles = rules.toggles(name)
    flags: tuple[Found[str], ...] | Tbd = (
        tuple(Found(t, section.line) for t in toggles) if toggles else Tbd()
    )
    parts = PhaseParts()
    stages: list[DraftStage] = []
    results: list[DraftQuestion] = []
    _gather(section, parts, stages, results)
    return build_phase(
        Found(name, section.line), section.line, flags, parts, stages, results
    )


def build_phase(
    name: Found[str] | Tbd,
    line: int,
    flags: tuple[Found[str], ...] | Tbd,
    parts: PhaseParts,
    stages: list[DraftStage],
    results: list[DraftQuestion],
) -> DraftPhase:
    """The phase; a phase whose document gives no stage gets one to decide.

    A plan records results at stages, so results written for the whole phase
    (seed 001's UAT) are recorded at its last stage.
    """
    if not stages:
        stages = [DraftStage(Tbd(), Tbd(), Tbd(), line)]
    if results:
        last = stages[-1]
        stages[-1] = replace(last, questions=(*last.questions, *results))
    return DraftPhase(
        name,
        line,
        flags,
        parts.start,
        parts.end,
        parts.audience,
        tuple(parts.dashboards),
        parts.monitored_by,
        tuple(parts.hints),
        tuple(parts.notes),
        tuple(stages),
    )


def _gather(
    section: Section,
    parts: PhaseParts,
    stages: list[DraftStage],
    results: list[DraftQuestion],
) -> None:
    for block in section.blocks:
        if not planning_line(block, section.sample, parts) and not rules.is_blank(
            block.text
        ):
            parts.notes.append(note(block, section.sample))
    for child in section.children:
        if child.part is Part.STAGE:
            stages.append(read_stage(child))
        elif child.part is Part.RESULTS:
            found = read_results(child.items(), child.sample)
            results.extend(found.questions)
            parts.notes.extend(found.notes)
        elif child.part in PHASE_PARTS:
            _gather(child, parts, stages, results)


def outside(section: Section) -> list[Section]:
    """The sections under a phase that are not about it (a rollback, go live)."""
    found: list[Section] = []
    for child in section.children:
        if child.part in PHASE_PARTS:
            found.extend(outside(child))
        elif child.part not in (Part.STAGE, Part.RESULTS):
            found.append(child)
    return found


def _window(
    value: str, line: int, sample: bool
) -> tuple[Found[dt.date] | Tbd, Found[dt.date] | Tbd | None]:
    if sample:
        return Tbd(line, f"a sample: {rules.unmark_sample(value)}"), Tbd(line)
    read = quantities.dates(value)
    if read.value is None or len(read.value) > 2:
        said = read.why_not and f"{value} ({read.why_not})"
        if read.value is None and not said and not rules.is_blank(value):
            said = value
        return Tbd(line, said), Tbd(line)
    days = read.value
    start = Found(days[0], line, value)
    return start, (Found(days[1], line, value) if len(days) == 2 else None)


def _text(value: str, line: int, sample: bool) -> Found[str] | Tbd:
    if rules.is_blank(value):
        return Tbd(line)
    if sample:
        return Tbd(line, f"a sample: {rules.unmark_sample(value)}")
    text, cut = rules.text(value.strip(" *_"))
    return Found(text, line, note=cut)


def _criteria_hints(value: str, line: int) -> list[Hint]:
    examples = rules.hints(value)
    if examples:
        return [Hint(text, line, "template") for text in examples]
    if rules.is_blank(value):
        return []
    return [Hint(rules.text(value.strip(" *_"))[0], line, "document")]


def _dashboards(block: Block, value: str, sample: bool) -> list[Dashboard]:
    found: list[Dashboard] = []
    links = [(text, url) for text, url in block.links if _is_url(url)]
    links += [("", url) for url in rules.urls(value) if all(url != u for _, u in links)]
    for text, url in links:
        title: Found[str] | Tbd = Found(text, block.line) if text else Tbd(block.line)
        found.append(Dashboard(title, Found(url, block.line)))
    if not found:
        said = f"a sample: {value}" if sample and not rules.is_blank(value) else ""
        found.append(Dashboard(Tbd(block.line), Tbd(block.line, said)))
    return found


def _is_url(url: str) -> bool:
    try:
        Link(title="x", url=url)
    except ValueError:
        return False
    return True
