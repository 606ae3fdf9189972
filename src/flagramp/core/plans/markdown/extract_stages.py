"""Stages and the results the template asks for at each: a share, a hold, questions.

A stage's planning gives `Percentage of users` and `Length of time`; its
results become the questions the stage records. Answers already given become
`answer`s, answers in a section marked "(Sample)" become `sample_answer`s, and
the template's own blanks (`x`, `yes/no, lorem ipsum`) become nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import replace

from flagramp.core.plans.durations import Duration
from flagramp.core.plans.markdown import quantities, rules
from flagramp.core.plans.markdown.draft import DraftQuestion, DraftStage, Found, Tbd
from flagramp.core.plans.markdown.outline import Block, Kind
from flagramp.core.plans.markdown.sections import USERS_SHARE, Part, Section

#: Results lines that are not questions: KPI actuals are recorded with the KPIs.
_KPI_ACTUAL = re.compile(r"kpi\s*\d*\s*actual", re.I)


def read_stage(section: Section) -> DraftStage:
    """A stage from its section (a heading or a bold `Stage …` line)."""
    name, line = section.title.strip(" *:"), section.line
    percentage: Found[float] | Tbd = Tbd()
    share = USERS_SHARE.search(name)
    if share:
        percentage = _percentage(share.group(), line, section.sample)
    hold: Found[Duration] | Tbd = Tbd()
    questions: list[DraftQuestion] = []
    notes: list[Found[str]] = []
    metrics: Tbd | None = None
    described: list[Block] = []
    planning: list[tuple[Block, bool]] = []
    for block in section.blocks:
        if block.kind is Kind.TEXT and not rules.split_label(block.text):
            described.append(block)
        else:
            planning.append((block, section.sample))
    for child in section.children:
        if child.part is Part.RESULTS:
            found = read_results(child.items(), child.sample)
            questions.extend(found.questions)
            notes.extend(found.notes)
            metrics = metrics or found.metrics
        else:
            planning.extend((b, child.sample) for b in child.items())
    asked_hold = False
    for block, sample in planning:
        labelled = rules.split_label(block.text)
        key = labelled.key if labelled else ""
        if labelled and key.startswith("percentage of users"):
            percentage = _either(
                percentage, _percentage(labelled.value, block.line, sample)
            )
        elif labelled and key.startswith(("length of time", "duration", "hold")):
            asked_hold = True
            hold = _duration(labelled.value, block.line, sample)
        elif block.text and not rules.is_blank(block.text):
            notes.append(note(block, sample))
    if not asked_hold:
        hold = Tbd()
    description = " ".join(b.text for b in described if not rules.is_blank(b.text))
    return DraftStage(
        Found(name, line),
        percentage,
        hold,
        line,
        tuple(questions),
        metrics,
        Found(rules.text(description)[0], described[0].line) if description else None,
        tuple(notes),
    )


def note(block: Block, sample: bool) -> Found[str]:
    """A line the draft keeps as a comment; a sample's says so."""
    text = rules.text(block.text)[0]
    return Found(f"a sample: {text}" if sample else text, block.line)


def _either(
    heading: Found[float] | Tbd, planned: Found[float] | Tbd
) -> Found[float] | Tbd:
    """The planning line's share; the heading's fills its blank; two differ: TBD."""
    if isinstance(heading, Tbd) or (isinstance(planned, Tbd) and planned.said):
        return planned
    if isinstance(planned, Tbd):
        return heading
    if planned.value == heading.value:
        return planned
    return Tbd(
        planned.line,
        f"{planned.written} here, {heading.written} in the heading "
        f"(line {heading.line})",
    )


def _percentage(value: str, line: int, sample: bool) -> Found[float] | Tbd:
    if sample or rules.is_sample(value):
        return Tbd(line, f"a sample: {rules.unmark_sample(value)}")
    read = quantities.percentage(value)
    if read.value is None:
        return Tbd(line, read.why_not and f"{value.strip()} ({read.why_not})")
    return Found(read.value, line, value.strip(" *_"), read.rest)


def _duration(value: str, line: int, sample: bool) -> Found[Duration] | Tbd:
    if sample or rules.is_sample(value):
        return Tbd(line, f"a sample: {rules.unmark_sample(value)}")
    read = quantities.duration(value)
    if read.value is None:
        return Tbd(line, read.why_not and f"{value.strip()} ({read.why_not})")
    return Found(read.value, line, value.strip(" *_"), read.rest)


class Results:
    """The questions, notes and metrics line of one results section."""

    def __init__(self) -> None:
        self.questions: list[DraftQuestion] = []
        self.notes: list[Found[str]] = []
        self.metrics: Tbd | None = None


def read_results(blocks: Iterable[Block], sample: bool) -> Results:
    """The questions a results section asks, with any answers already given."""
    out = Results()
    seen: set[tuple[str, str]] = set()
    for block in blocks:
        if block.kind not in (Kind.ITEM, Kind.TEXT) or not block.text:
            continue
        labelled = rules.split_label(block.text)
        if block.depth > 0 and out.questions:
            out.questions[-1] = _extend(out.questions[-1], block, sample)
            continue
        if labelled is None:
            if not rules.is_blank(block.text):
                out.notes.append(note(block, sample))
            continue
        if labelled.key.startswith("metrics at this stage"):
            said = "" if rules.is_blank(labelled.value) else labelled.value
            out.metrics = Tbd(block.line, rules.text(said)[0])
            continue
        if _KPI_ACTUAL.search(labelled.key):
            continue
        question = _question(labelled, block.line, sample)
        if labelled.key.startswith("if yes") and out.questions:
            previous = out.questions[-1]
            out.questions[-1] = replace(previous, yes_no=True, follow_up=question)
            continue
        answer = question.answer.value if question.answer else ""
        if (question.text.value, answer) in seen:
            continue  # the template pasted twice
        seen.add((question.text.value, answer))
        out.questions.append(question)
    return out


def _question(labelled: rules.Labelled, line: int, sample: bool) -> DraftQuestion:
    text, _ = rules.text(rules.clean_label(labelled.label) or labelled.label)
    written = labelled.value
    answer = rules.answer_of(written)
    is_sample = sample or rules.is_sample(written) or rules.is_sample(labelled.label)
    found: Found[str] | None = None
    if answer and not rules.is_blank(answer):
        value, cut = rules.text(answer)
        found = Found(value, line, note=cut)
    return DraftQuestion(
        Found(text, line),
        yes_no=rules.is_yes_no(labelled.label + " " + written),
        answer=found,
        sample=is_sample and found is not None,
    )


def _extend(question: DraftQuestion, block: Block, sample: bool) -> DraftQuestion:
    # A nested item under an answer is part of it (seed 001's list of bugs);
    # under a blank answer it is the answer.
    if rules.is_blank(block.text):
        return question
    if question.answer is None:
        answer = Found(rules.text(block.text)[0], block.line)
        return replace(question, answer=answer, sample=sample or question.sample)
    value, cut = rules.text(f"{question.answer.value}; {block.text}")
    return replace(question, answer=replace(question.answer, value=value, note=cut))
