"""Problems found in a plan, and the one error that carries all of them.

A problem knows where it is (file, line, column), which field it is about
(`phases[1].stages[0].percentage`), what is wrong and, where we can tell, how to
fix it. Loading collects every problem before raising, as poetry-core's
`validate()` does, so an author fixes a plan in one pass instead of one error at a
time.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from flagramp.core.errors import PlanError

#: A field path as pydantic reports it: keys and list indexes from the root.
Loc = tuple[str | int, ...]


class Level(StrEnum):
    """How bad a problem is: errors stop a plan, warnings (the linter's) do not."""

    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a plan, at one place in its file."""

    file: str
    line: int
    column: int
    path: str
    message: str
    hint: str = ""
    level: Level = Level.ERROR

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}:{self.column}: "
        field = f"{self.path}: " if self.path else ""
        return f"{where}{field}{self.message}"

    def render(self) -> str:
        """The problem with its fix hint on a second, indented line."""
        return f"{self}\n    hint: {self.hint}" if self.hint else str(self)

    def to_json(self) -> dict[str, str | int]:
        """The problem as a JSON object (for `plan validate --json`)."""
        return {
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "path": self.path,
            "message": self.message,
            "hint": self.hint,
            "level": self.level.value,
        }


def format_loc(loc: Loc) -> str:
    """Write a field path the way people read it: `phases[1].stages[0].name`."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else part
    return out


def sort_problems(problems: Iterable[Problem]) -> list[Problem]:
    """Problems in file order, each once."""
    unique = dict.fromkeys(problems)
    return sorted(unique, key=lambda p: (p.file, p.line, p.column, p.path, p.message))


class PlanInvalid(PlanError, ValueError):
    """A plan has one or more problems; `problems` holds all of them, in order."""

    code = "plan_invalid"

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = tuple(problems)
        count = len(self.problems)
        noun = "problem" if count == 1 else "problems"
        lines = "\n".join(p.render() for p in self.problems)
        super().__init__(f"{count} {noun} in the plan:\n{lines}")


class PlanTooLarge(PlanInvalid):
    """The file is bigger, deeper or expands further than a plan may."""

    code = "plan_too_large"


@dataclass(frozen=True, slots=True)
class Finding:
    """A problem found on the model, before it is placed in the file."""

    loc: Loc
    message: str
    hint: str = ""
    at_key: bool = False
    """Point at the key of `loc` rather than its value (unknown fields)."""
