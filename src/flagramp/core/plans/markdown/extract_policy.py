"""The parts after the stages: rollback by severity, go live, post-launch questions.

A severity's action is read only from what its first telling step says
without hedging: "disabled for all users" is `disable_all`, "remain enabled
with no reduction" is `continue`. "Possibly at a reduction of availability"
could be either `step_back` or `continue`, so it is left to decide, quoted.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import replace

from flagramp.core.plans.markdown import quantities, rules
from flagramp.core.plans.markdown.draft import (
    DraftCheckpoint,
    DraftGoLive,
    DraftKpi,
    DraftQuestion,
    DraftRollback,
    DraftSeverity,
    Found,
    Hint,
    Tbd,
)
from flagramp.core.plans.markdown.extract_stages import read_results
from flagramp.core.plans.markdown.outline import Block, Kind
from flagramp.core.plans.markdown.sections import Part, Section
from flagramp.core.severity import Severity

#: What a step says, and the action it names.
_ACTIONS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("disable_all", re.compile(r"disabled? for (?:all|every)|turn(?:ed)? off", re.I)),
    ("continue", re.compile(r"no reduction|remain enabled with no", re.I)),
    (
        "step_back",
        re.compile(
            r"lower(?:ed)? (?:the )?percentage|reduction of availability"
            r"|step(?:ped)? back",
            re.I,
        ),
    ),
)
#: Words that make a step a possibility rather than the action.
_HEDGE = re.compile(r"\b(?:possibly|may|might)\b", re.I)
_REVERT = re.compile(r"\brevert", re.I)
_SEVERITY = re.compile(r"\b(critical|high|medium|low)\b", re.I)
_KPI = re.compile(r"kpi\s*(\d+)", re.I)
_BELOW = re.compile(
    r"(?:<=?|≤|\bbelow\b|\bunder\b|\bless than\b)\s*(\d+(?:\.\d+)?)", re.I
)
_ABOVE = re.compile(
    r"(?:>=?|≥|\babove\b|\bover\b|\bmore than\b|\bat least\b)\s*(\d+(?:\.\d+)?)",
    re.I,
)


#: Sections a rollback section may hold; others (known risks) are read apart.
ROLLBACK_PARTS = frozenset({Part.ROLLBACK, Part.SEVERITY, Part.OTHER})


def read_rollback(section: Section, before: DraftRollback | None) -> DraftRollback:
    """The rollback process, added to what earlier rollback sections said.

    Sections inside it that are not about rollback are left to the caller.
    """
    procedure = list(before.procedure) if before else []
    severities = list(before.severities) if before else []
    hints = list(before.hints) if before else []
    pending = [section]
    while pending:
        current = pending.pop(0)
        if current.part is Part.SEVERITY:
            severities.append(_severity(current))
            hints.extend(_rows(current.items()))
            continue
        pending[:0] = [c for c in current.children if c.part in ROLLBACK_PARTS]
        hints.extend(_rows(current.blocks))
        for block in current.blocks:
            if block.kind is Kind.ROW or block.bold or rules.is_blank(block.text):
                continue
            procedure.append(Found(rules.text(block.text)[0], block.line))
    return DraftRollback(
        before.line if before else section.line,
        (before.sample if before else False) or section.sample,
        tuple(procedure),
        _merged(severities),
        tuple(hints),
    )


def _rows(blocks: Iterable[Block]) -> list[Hint]:
    """A table's rows as hints (seed 003's rollback triggers)."""
    found: list[Hint] = []
    for block in blocks:
        cells = [c for c in block.cells if c and not rules.is_blank(c)]
        if block.kind is Kind.ROW and not block.header and cells:
            found.append(Hint(" — ".join(cells), block.line, "document"))
    return found


def _merged(severities: list[DraftSeverity]) -> tuple[DraftSeverity, ...]:
    """One entry per severity: a document that names one twice gets both steps."""
    by: dict[Severity, DraftSeverity] = {}
    for this in severities:
        first = by.get(this.severity)
        if first is None:
            by[this.severity] = this
            continue
        action = first.action
        if isinstance(action, Tbd) and isinstance(this.action, Found):
            action = this.action
        elif (
            isinstance(action, Found)
            and isinstance(this.action, Found)
            and action.value != this.action.value
        ):
            action = Tbd(
                this.line,
                f"{action.value} at line {action.line}, "
                f"{this.action.value} at line {this.action.line}",
            )
        by[this.severity] = replace(
            first,
            action=action,
            steps=(*first.steps, *this.steps),
            revert_required=first.revert_required or this.revert_required,
        )
    return tuple(by.values())


def _severity(section: Section) -> DraftSeverity:
    match = _SEVERITY.search(section.title)
    severity = Severity(match.group(1).lower()) if match else Severity.HIGH
    steps = [
        Found(rules.text(b.text)[0], b.line)
        for b in section.items()
        if b.kind is not Kind.ROW and not rules.is_blank(b.text)
    ]
    action: Found[str] | Tbd = Tbd(section.line)
    for step in steps:
        named = [action for action, p in _ACTIONS if p.search(step.value)]
        if not named:
            continue
        if len(named) == 1 and not _HEDGE.search(step.value):
            action = Found(named[0], step.line, step.value)
        else:
            action = Tbd(step.line, step.value)
        break
    if section.sample:
        said = action.written if isinstance(action, Found) else action.said
        action = Tbd(section.line, f"a sample: {said}" if said else "a sample")
    revert = next((s for s in steps if _REVERT.search(s.value)), None)
    return DraftSeverity(
        severity,
        section.line,
        action,
        tuple(steps),
        Found(True, revert.line, revert.value) if revert else None,
    )


def read_go_live(section: Section) -> DraftGoLive:
    """Go live: its planning lines, KPIs and checkpoints."""
    date: Found[dt.date] | Tbd | None = None
    go_line: int | None = None
    note: Found[str] | None = None
    kpis: list[DraftKpi] = []
    checkpoints: list[DraftCheckpoint] = []
    planning = list(section.blocks)
    for child in section.children:
        if child.part is Part.CHECKPOINT or child.part is Part.RESULTS:
            checkpoints.append(_checkpoint(child))
        else:
            planning.extend(child.items())
    for block in planning:
        labelled = rules.split_label(block.text)
        key = labelled.key if labelled else block.text.lower()
        value = labelled.value if labelled else ""
        if key.startswith("desired date"):
            read = quantities.dates(value)
            if read.value and len(read.value) == 1:
                date = Found(read.value[0], block.line, value)
            else:
                date = Tbd(block.line, read.why_not and f"{value} ({read.why_not})")
        elif _KPI.search(key) and "actual" not in key:
            kpis.append(_kpi(labelled, block))
        elif re.match(r"go\s*/\s*no[- ]go", key):
            go_line = block.line
            addresses = rules.urls(block.text) + [u for _, u in block.links]
            if addresses:
                note = Found(addresses[0], block.line)
    return DraftGoLive(
        section.line, date, go_line, note, tuple(kpis), tuple(checkpoints)
    )


def _kpi(labelled: rules.Labelled | None, block: Block) -> DraftKpi:
    label = labelled.label if labelled else block.text
    number = _KPI.search(label)
    assert number is not None  # only lines naming `KPI <n>` come here
    name = f"kpi_{number.group(1)}"
    value = labelled.value if labelled else ""
    if rules.is_blank(value):
        return DraftKpi(Found(name, block.line, label), Tbd(block.line))
    below, above = _BELOW.search(value), _ABOVE.search(value)
    return DraftKpi(
        Found(name, block.line, label),
        Found(rules.text(value)[0], block.line),
        Found(float(below.group(1)), block.line, below.group()) if below else None,
        Found(float(above.group(1)), block.line, above.group())
        if above and not below
        else None,
    )


def _checkpoint(section: Section) -> DraftCheckpoint:
    name = section.title.strip(" *:")
    read = quantities.duration(name)
    after = Found(read.value, section.line, name) if read.value else Tbd(section.line)
    results = read_results(section.items(), section.sample)
    return DraftCheckpoint(Found(name, section.line), after, tuple(results.questions))


def read_questions(blocks: Iterable[Block]) -> list[DraftQuestion]:
    """Post-launch questions: one per list item; nested lines belong to it."""
    questions: list[DraftQuestion] = []
    for block in blocks:
        if block.kind is not Kind.ITEM or not block.text:
            continue
        if block.depth > 0 and questions:
            last = questions[-1].text
            value, _ = rules.text(f"{last.value} {block.text}")
            questions[-1] = DraftQuestion(Found(value, last.line))
            continue
        questions.append(DraftQuestion(Found(rules.text(block.text)[0], block.line)))
    return questions
