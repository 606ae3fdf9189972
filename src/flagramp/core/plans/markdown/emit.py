"""The draft as plan YAML: every found value with its line, every blank a TBD.

Each value the document gives carries `# from plan.md:42` (with the text as
written when it was converted: `1h  # from plan.md:34 ("1 hr")`). Each TBD
carries what to decide and where the document leaves it blank or what it says
instead. The plan model's required parts the template never asks for (roles,
events, metrics, criteria and their mde) are TBDs too. Nothing here is
invented: a TBD keeps the draft from loading until a person decides.
"""

from __future__ import annotations

from collections.abc import Iterable

from flagramp.core.plans.markdown.draft import (
    Draft,
    DraftStage,
    Found,
    Hint,
    Tbd,
)
from flagramp.core.plans.markdown.emit_parts import Emitter
from flagramp.core.plans.markdown.yaml_writer import (
    Mapping,
    Scalar,
    Sequence,
    Written,
    write,
)

HEADER = (
    "Draft release plan written by `flagramp plan import-markdown` from {file}.",
    "Each value found in the document says where it came from (`# from {file}:42`);",
    "each TBD is left to decide, with what to decide beside it. `flagramp plan lint`",
    "lists what is left. Hints from the document are comments, never criteria;",
    "answers it marks (Sample) are `sample_answer`s, never results.",
)


def emit(draft: Draft) -> Written:
    """The draft's YAML text and the place of each TBD in it."""
    out = Emitter(draft.file)
    root = Mapping()
    out.slot(root, "name", draft.name, "name")
    out.slot(root, "title", draft.title, "title")
    if draft.status:
        out.found(root, "status", draft.status)
    root.add("owner", out.tbd(Tbd(), "owner"))
    root.add("product_owner", out.tbd(Tbd(), "product_owner"))
    for key, text in (("summary", draft.summary), ("hypothesis", draft.hypothesis)):
        if text:
            out.found(root, key, text)
    if draft.links:
        links = Sequence()
        for link in draft.links:
            item = Mapping()
            item.add("title", Scalar(link.title, out.source(link.line)))
            item.add("url", Scalar(link.url, out.source(link.line)))
            links.add(item)
        root.add("links", links)
    traffic = Mapping()
    traffic.add("users_per_day", out.tbd(Tbd(), "users_per_day"))
    traffic.add("requests_per_minute", out.tbd(Tbd(), "requests_per_minute"))
    root.add("traffic", traffic)
    people = tuple(
        f'the document names who watches: "{p.value}" ({out.place(p.line)})'
        for p in draft.people
    )
    root.add("roles", out.tbd(Tbd(), "roles"), above=people)
    root.add("flags", _flags(out, draft))
    root.add("events", out.tbd(Tbd(), "events"))
    root.add(
        "metrics",
        out.tbd(Tbd(), "metrics"),
        above=_hints(out, draft.metric_hints, "metrics and criteria"),
    )
    if draft.prerequisites:
        prerequisites = Sequence()
        for prerequisite in draft.prerequisites:
            entry = Mapping()
            out.found(entry, "text", prerequisite)
            entry.add("signed_by", out.tbd(Tbd(), "signed_by"))
            prerequisites.add(entry)
        root.add("prerequisites", prerequisites)
    root.add("phases", _phases(out, draft))
    root.add("rollback", out.rollback(draft.rollback))
    if draft.go_live:
        root.add("go_live", out.go_live(draft.go_live))
    if draft.risks:
        risks = Sequence()
        for risk in draft.risks:
            risks.add(out.scalar(risk, "risks"))
        root.add("risks", risks)
    header = tuple(line.format(file=draft.file) for line in HEADER)
    return write(root, header)


def _flags(out: Emitter, draft: Draft) -> Mapping | Scalar:
    if not draft.flags:
        return out.tbd(Tbd(), "flags")
    flags = Mapping()
    for flag in draft.flags:
        entry = Mapping()
        out.slot(entry, "description", flag.description, "flag.description")
        flags.add(flag.key.value, entry, out.source(flag.key.line))
    return flags


def _phases(out: Emitter, draft: Draft) -> Sequence:
    phases = Sequence()
    for phase in draft.phases:
        entry = Mapping()
        out.slot(entry, "name", phase.name, "phase.name")
        if isinstance(phase.flags, Tbd):
            entry.add("flags", out.tbd(phase.flags, "phase.flags"))
        else:
            flags = Sequence()
            for flag in phase.flags:
                flags.add(Scalar(flag.value, out.source(flag.line)))
            entry.add("flags", flags)
        if phase.start is not None:
            window = Mapping()
            out.slot(window, "start", phase.start, "window.start")
            if phase.end is not None:
                out.slot(window, "end", phase.end, "window.end")
            entry.add("window", window)
        if phase.audience is not None:
            audience = Mapping()
            out.slot(audience, "description", phase.audience, "audience")
            entry.add("audience", audience)
        if phase.monitored_by is not None:
            said = Tbd(phase.monitored_by.line, phase.monitored_by.value)
            entry.add("monitored_by", out.tbd(said, "monitored_by"))
        if phase.dashboards:
            dashboards = Sequence()
            for board in phase.dashboards:
                item = Mapping()
                out.slot(item, "title", board.title, "dashboard.title")
                out.slot(item, "url", board.url, "dashboard.url")
                dashboards.add(item)
            entry.add("dashboards", dashboards)
        above = _hints(out, phase.hints, "success criteria") + _notes(out, phase.notes)
        stages = Sequence()
        for stage in phase.stages:
            stages.add(_stage(out, stage), above=_notes(out, stage.notes))
        entry.add("stages", stages, above=above)
        phases.add(entry)
    return phases


def _stage(out: Emitter, stage: DraftStage) -> Mapping:
    entry = Mapping()
    out.slot(entry, "name", stage.name, "stage.name")
    out.slot(entry, "percentage", stage.percentage, "percentage")
    out.slot(entry, "hold", stage.hold, "hold")
    if stage.description is not None:
        out.found(entry, "description", stage.description)
    entry.add("criteria", out.tbd(Tbd(), "criteria"))
    record = out.record(stage.questions, stage.metrics)
    if record is not None:
        entry.add("record", record)
    return entry


def _hints(out: Emitter, hints: Iterable[Hint], about: str) -> tuple[str, ...]:
    lines: list[str] = []
    for hint in hints:
        whose = (
            "the template's example" if hint.source == "template" else "the document"
        )
        lines.append(f"hint ({whose}, {out.place(hint.line)}): {hint.text}")
    if lines:
        lines.insert(0, f"Hints for {about}, not {about} themselves:")
    return tuple(lines)


def _notes(out: Emitter, notes: Iterable[Found[str]]) -> tuple[str, ...]:
    return tuple(
        f"the document also says ({out.place(n.line)}): {n.value}" for n in notes
    )
