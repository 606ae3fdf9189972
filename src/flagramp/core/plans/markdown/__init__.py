"""flagramp.core.plans.markdown: release plans in VA's Markdown template, as drafts.

`import_markdown(text, file)` reads a document in the template's shape (toggle
names, phases, stages with "Percentage of users" and "Length of time",
rollback by severity, success-criteria hints, go-live KPIs, post-launch
questions) and returns an `Imported`: the `Draft` model and its YAML text, in
which every value found names its line and every blank is a `TBD`. Pure: text
in, text out; raises `DocumentUnreadable` with one line for what cannot be
read.
"""

from __future__ import annotations

from dataclasses import dataclass

from flagramp.core.plans.base import TBD
from flagramp.core.plans.markdown.draft import Draft, Found, Hint, Tbd
from flagramp.core.plans.markdown.emit import emit
from flagramp.core.plans.markdown.errors import DocumentUnreadable
from flagramp.core.plans.markdown.extract import read_draft
from flagramp.core.plans.markdown.outline import MAX_CHARS


@dataclass(frozen=True, slots=True)
class Imported:
    """A document read as a draft plan."""

    draft: Draft
    yaml: str
    """The draft as plan YAML, with comments."""
    tbds: tuple[tuple[int, str], ...]
    """(line in `yaml`, field path) of each TBD, in file order."""
    lines: dict[str, int]
    """The line in `yaml` of every value, by field path (`phases[0].name`)."""

    def comment(self, path: str) -> str:
        """The comment written after the value at `path`: `from plan.md:42`."""
        line = self.yaml.splitlines()[self.lines[path] - 1]
        return line.partition("  # ")[2]

    @property
    def stages(self) -> int:
        """How many stages the draft has."""
        return sum(len(phase.stages) for phase in self.draft.phases)


def import_markdown(text: str, file: str = "plan.md") -> Imported:
    """The draft plan a Markdown document describes; raises DocumentUnreadable.

    `file` names the document in the draft's comments (`# from plan.md:42`).
    """
    draft = read_draft(text, file)
    written = emit(draft)
    return Imported(draft, written.text, written.tbds, written.lines)


__all__ = [
    "MAX_CHARS",
    "TBD",
    "DocumentUnreadable",
    "Draft",
    "Found",
    "Hint",
    "Imported",
    "Tbd",
    "import_markdown",
]
