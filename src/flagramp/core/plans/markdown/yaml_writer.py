"""A small YAML writer that keeps comments: block mappings, sequences, scalars.

PyYAML writes no comments, and the draft is mostly comments (where each value
came from, what each TBD asks). So the structure is written here and every
scalar is quoted by PyYAML itself (`_scalar`), which knows YAML's rules for
what needs quotes; nothing the document says can break out of a value or a
comment (comments are one line, with unprintable characters escaped).
"""

from __future__ import annotations

import datetime as dt
import textwrap
from dataclasses import dataclass, field

import yaml

from flagramp.core.plans.base import TBD
from flagramp.core.plans.compose import compose
from flagramp.core.plans.nodes import MappingNode, ScalarNode
from flagramp.core.plans.percentages import show_number

#: Comments longer than this are cut: a comment points, it does not quote pages.
MAX_COMMENT = 400
_WIDTH = 88

ScalarValue = str | int | float | bool | dt.date


@dataclass
class Scalar:
    """A value, with the comment written after it."""

    value: ScalarValue
    comment: str = ""


@dataclass
class Mapping:
    """Keys and their nodes, in order."""

    entries: list[Entry] = field(default_factory=list)

    def add(
        self, key: str, node: Node, comment: str = "", above: tuple[str, ...] = ()
    ) -> None:
        """Append `key: node`; `comment` follows the key, `above` precedes it."""
        self.entries.append(Entry(key, node, comment, above))


@dataclass
class Sequence:
    """Items, in order."""

    items: list[Item] = field(default_factory=list)

    def add(self, node: Node, above: tuple[str, ...] = ()) -> None:
        """Append an item; `above` are comment lines before it."""
        self.items.append(Item(node, above))


Node = Scalar | Mapping | Sequence


@dataclass
class Entry:
    """One `key: value` of a mapping."""

    key: str
    node: Node
    comment: str = ""
    above: tuple[str, ...] = ()


@dataclass
class Item:
    """One `- value` of a sequence."""

    node: Node
    above: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Written:
    """The YAML text, and where each TBD is in it."""

    text: str
    tbds: tuple[tuple[int, str], ...]
    """(line, field path) of each TBD, in file order."""
    lines: dict[str, int]
    """The line of every value, by field path (`phases[0].stages[1].hold`)."""


def write(root: Mapping, header: tuple[str, ...] = ()) -> Written:
    """The YAML text of a mapping, after a header of comment lines."""
    writer = _Writer()
    for line in header:
        writer.comment(0, line)
    writer.mapping(root, 0, "")
    return Written("\n".join(writer.lines) + "\n", tuple(writer.tbds), writer.places)


class _Writer:
    def __init__(self) -> None:
        self.lines: list[str] = []
        self.tbds: list[tuple[int, str]] = []
        self.places: dict[str, int] = {}

    def comment(self, indent: int, text: str) -> None:
        """Comment lines, wrapped; an empty text is a bare `#` line."""
        if not text:
            self.lines.append(" " * indent + "#")
            return
        prefix = " " * indent + "# "
        for line in textwrap.wrap(_one_line(text), max(40, _WIDTH - len(prefix))):
            self.lines.append(prefix + line)

    def mapping(self, node: Mapping, indent: int, path: str, first: str = "") -> None:
        """Write the entries; `first` prefixes the first line (`- ` in a list)."""
        for index, entry in enumerate(node.entries):
            lead = first if index == 0 else " " * len(first)
            pad = " " * indent
            for line in entry.above:
                self.comment(indent + len(lead) if index else indent, line)
            key = f"{pad}{lead}{_scalar(entry.key)}:"
            here = f"{path}.{entry.key}" if path else entry.key
            self.value(key, entry.node, indent + len(lead), here, entry.comment)

    def value(self, key: str, node: Node, indent: int, path: str, comment: str) -> None:
        """`key:` and its node: on the same line (a scalar, `{}`, `[]`) or below."""
        if isinstance(node, Scalar):
            self._line(f"{key} {_scalar(node.value)}", node.comment or comment)
            self._place(path, node)
        elif isinstance(node, Mapping) and not node.entries:
            self._line(f"{key} {{}}", comment)
        elif isinstance(node, Sequence) and not node.items:
            self._line(f"{key} []", comment)
        elif isinstance(node, Mapping):
            self._line(key, comment)
            self.mapping(node, indent + 2, path)
        else:
            self._line(key, comment)
            self.sequence(node, indent + 2, path)

    def sequence(self, node: Sequence, indent: int, path: str) -> None:
        """The items of a sequence, `- ` each."""
        for index, item in enumerate(node.items):
            here = f"{path}[{index}]"
            for line in item.above:
                self.comment(indent, line)
            child = item.node
            if isinstance(child, Scalar):
                self._line(f"{' ' * indent}- {_scalar(child.value)}", child.comment)
                self._place(here, child)
            elif isinstance(child, Mapping) and child.entries:
                self.mapping(child, indent, here, first="- ")
            else:
                self._line(
                    f"{' ' * indent}- {{}}"
                    if isinstance(child, Mapping)
                    else f"{' ' * indent}- []",
                    "",
                )

    def _place(self, path: str, node: Scalar) -> None:
        self.places[path] = len(self.lines)
        if node.value == TBD:
            self.tbds.append((len(self.lines), path))

    def _line(self, text: str, comment: str) -> None:
        self.lines.append(f"{text}  # {_one_line(comment)}" if comment else text)


def _scalar(value: ScalarValue) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return show_number(float(value)) if isinstance(value, float) else str(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    # PyYAML quotes what needs quoting (plain, single or double quotes); a plain
    # scalar comes with the document-end marker, which is not part of it.
    dumped = yaml.safe_dump(value, allow_unicode=True, width=10**9)
    plain = dumped.removesuffix("\n").removesuffix("\n...")
    # PyYAML follows YAML 1.1; the plan loader reads YAML 1.2's core schema, in
    # which `0E0` or `09` is a number. Text the loader would not read back as
    # this text is quoted.
    if _reads_back(plain, value):
        return plain
    quoted = yaml.safe_dump(value, allow_unicode=True, width=10**9, default_style='"')
    return quoted.removesuffix("\n")


def _reads_back(written: str, value: str) -> bool:
    node, problems = compose(f"k: {written}", "scalar")
    if problems or not isinstance(node, MappingNode) or not node.pairs:
        return False
    read = node.pairs[0][1]
    return isinstance(read, ScalarNode) and read.value == value


def _one_line(text: str) -> str:
    flat = " ".join(text.split())
    flat = "".join(c if c.isprintable() else f"\\u{ord(c):04x}" for c in flat)
    return flat if len(flat) <= MAX_COMMENT else flat[: MAX_COMMENT - 1] + "…"
