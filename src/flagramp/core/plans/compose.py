"""Turn YAML text into position-carrying nodes, safely and within limits.

Rationale: PyYAML's own composer recurses once per nesting level and expands
aliases without counting, so a 10k-deep file or a "billion laughs" anchor bomb
costs a crash or gigabytes. Here libyaml (or PyYAML's pure parser) only produces
the event stream; this module builds the tree with an explicit stack and checks
the limits as the events arrive, so hostile input fails after a bounded amount of
work. Scalars resolve by the YAML 1.2 core schema: `yes`, `no` and `on` stay text,
and dates stay text for pydantic to parse.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import yaml

from flagramp.core.plans.nodes import (
    MappingNode,
    Mark,
    Node,
    Scalar,
    ScalarNode,
    SequenceNode,
)
from flagramp.core.plans.problems import Problem

#: The largest plan file accepted (bytes). Real plans are a few kilobytes.
MAX_BYTES = 1024 * 1024
#: The deepest nesting accepted. A plan needs about ten levels.
MAX_DEPTH = 64
#: The most nodes the document may stand for once every alias is expanded.
MAX_NODES = 100_000
#: The most aliases (`*name`) in one file.
MAX_ALIASES = 1_000

_Parser = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_TOO_DEEP = f"the YAML is nested more than {MAX_DEPTH} levels deep"
_TOO_DEEP_HINT = "a plan needs about ten levels; flatten the structure"
_TAB = "a tab character: YAML indents with spaces only"

_NULL = re.compile(r"^(?:~|null|Null|NULL|)$")
_BOOL = re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")
_INT = re.compile(r"^[-+]?[0-9]+$")
_FLOAT = re.compile(
    r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
    r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
)
_TAGS = {
    "tag:yaml.org,2002:str": "str",
    "tag:yaml.org,2002:int": "int",
    "tag:yaml.org,2002:float": "float",
    "tag:yaml.org,2002:bool": "bool",
    "tag:yaml.org,2002:null": "null",
    "tag:yaml.org,2002:map": "map",
    "tag:yaml.org,2002:seq": "seq",
}


class _Fatal(Exception):
    """Stops composition; carries the one problem that made going on pointless."""

    def __init__(self, mark: Mark, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.mark = mark
        self.message = message
        self.hint = hint


@dataclass
class _Frame:
    node: SequenceNode | MappingNode
    anchor: str | None
    start_count: int
    key: ScalarNode | None = None
    merges: list[tuple[Mark, Node]] = field(default_factory=list)


@dataclass
class _Composer:
    file: str
    problems: list[Problem] = field(default_factory=list)
    anchors: dict[str, tuple[Node, int] | None] = field(default_factory=dict)
    stack: list[_Frame] = field(default_factory=list)
    count: int = 0
    aliases: int = 0
    documents: int = 0
    root: Node | None = None

    def problem(self, mark: Mark, message: str, hint: str = "") -> None:
        self.problems.append(
            Problem(self.file, mark.line, mark.column, "", message, hint)
        )

    def feed(self, event: yaml.Event) -> None:
        start = event.start_mark
        mark = Mark(start.line + 1, start.column + 1) if start else Mark(1, 1)
        if isinstance(event, yaml.DocumentStartEvent):
            self.documents += 1
            if self.documents > 1:
                raise _Fatal(
                    mark,
                    "a plan file holds one YAML document; a second one starts here",
                    "remove the `---` line or split the file",
                )
        elif isinstance(event, yaml.ScalarEvent):
            self.grow(mark, 1)
            expect_key = bool(self.stack) and self.stack[-1].key is None
            frame_is_map = bool(self.stack) and isinstance(
                self.stack[-1].node, MappingNode
            )
            if expect_key and frame_is_map:
                node = ScalarNode(mark, event.value)
            else:
                node = ScalarNode(mark, self.resolve(event, mark))
            self.finish(node, event.anchor, 1)
        elif isinstance(event, yaml.SequenceStartEvent | yaml.MappingStartEvent):
            self.check_tag(event, mark)
            if len(self.stack) >= MAX_DEPTH:
                raise _Fatal(mark, _TOO_DEEP, _TOO_DEEP_HINT)
            self.grow(mark, 1)
            container: SequenceNode | MappingNode = (
                SequenceNode(mark)
                if isinstance(event, yaml.SequenceStartEvent)
                else MappingNode(mark)
            )
            if event.anchor is not None:
                self.anchors[event.anchor] = None  # open: an alias to it recurses
            self.stack.append(_Frame(container, event.anchor, self.count))
        elif isinstance(event, yaml.SequenceEndEvent | yaml.MappingEndEvent):
            frame = self.stack.pop()
            if isinstance(frame.node, MappingNode):
                self.merge(frame)
            self.finish(frame.node, frame.anchor, self.count - frame.start_count + 1)
        elif isinstance(event, yaml.AliasEvent):
            self.alias(event.anchor or "", mark)

    def alias(self, anchor: str, mark: Mark) -> None:
        if anchor not in self.anchors:
            raise _Fatal(mark, f"alias *{anchor} names no anchor defined before it")
        target = self.anchors[anchor]
        if target is None:
            raise _Fatal(mark, f"alias *{anchor} refers to its own anchor (a loop)")
        self.aliases += 1
        if self.aliases > MAX_ALIASES:
            raise _Fatal(mark, f"the YAML uses more than {MAX_ALIASES} aliases")
        node, size = target
        self.grow(mark, size)
        self.attach(node, mark, is_alias=True)

    def grow(self, mark: Mark, size: int) -> None:
        self.count += size
        if self.count > MAX_NODES:
            raise _Fatal(
                mark,
                f"the YAML expands to more than {MAX_NODES} values through "
                "anchors and aliases (an anchor bomb?)",
                "use fewer nested aliases; a plan rarely needs more than a few",
            )

    def finish(self, node: Node, anchor: str | None, size: int) -> None:
        if anchor is not None:
            self.anchors[anchor] = (node, size)
        self.attach(node, node.mark, is_alias=False)

    def attach(self, node: Node, mark: Mark, *, is_alias: bool) -> None:
        if not self.stack:
            self.root = node
            return
        frame = self.stack[-1]
        if isinstance(frame.node, SequenceNode):
            frame.node.items.append(node)
        elif frame.key is None:
            if not isinstance(node, ScalarNode) or is_alias:
                raise _Fatal(mark, "a mapping key must be plain text")
            frame.key = node
        else:
            key, frame.key = frame.key, None
            if key.value == "<<":
                frame.merges.append((key.mark, node))
                return
            earlier = frame.node.get(str(key.value))
            if earlier is not None:
                first = earlier[0].mark
                self.problem(
                    key.mark,
                    f"duplicate key {key.value!r} (first written at line {first.line})",
                    "keep one of them; YAML would silently use the last",
                )
                return
            frame.node.pairs.append((key, node))

    def merge(self, frame: _Frame) -> None:
        assert isinstance(frame.node, MappingNode)
        for mark, source in frame.merges:
            sources = source.items if isinstance(source, SequenceNode) else [source]
            for item in sources:
                if not isinstance(item, MappingNode):
                    self.problem(mark, "`<<` merges mappings only")
                    continue
                for key, value in item.pairs:
                    if frame.node.get(str(key.value)) is None:
                        frame.node.pairs.append((key, value))

    def check_tag(self, event: yaml.CollectionStartEvent, mark: Mark) -> None:
        if event.tag is not None and event.tag not in _TAGS and event.tag != "!":
            raise _Fatal(mark, f"the tag {event.tag} is not allowed in a plan")

    def resolve(self, event: yaml.ScalarEvent, mark: Mark) -> Scalar:
        text = event.value
        tag = event.tag
        if tag is not None and tag != "!":
            kind = _TAGS.get(tag)
            if kind is None:
                raise _Fatal(mark, f"the tag {tag} is not allowed in a plan")
            return _typed(text, kind, mark)
        if tag == "!" or not event.implicit[0]:
            return text  # quoted: always text
        if _NULL.match(text):
            return None
        if _BOOL.match(text):
            return text.lower() == "true"
        if _INT.match(text) and len(text) <= 30:
            return int(text)
        if _FLOAT.match(text) and len(text) <= 60:
            return _float(text)
        return text


def _float(text: str) -> float:
    # YAML writes infinity and not-a-number as `.inf`, `-.inf` and `.nan`, which
    # Python's float() does not read. They resolve here and the models refuse them
    # (every number in a plan must be finite).
    special = text.lower().lstrip("+")
    if special in (".inf", "-.inf", ".nan"):
        return float(special.replace(".", ""))
    return float(text)


def _typed(text: str, kind: str, mark: Mark) -> Scalar:
    try:
        if kind == "int":
            return int(text)
        if kind == "float":
            return _float(text)
    except ValueError:
        raise _Fatal(mark, f"{text!r} is not a valid {kind}") from None
    if kind == "bool":
        return text.lower() == "true"
    if kind == "null":
        return None
    return text


def _is_tab(text: str, mark: yaml.Mark | None) -> bool:
    """True if the parser stopped at a tab (libyaml says only "found character
    that cannot start any token")."""
    if mark is None:
        return False
    lines = re.split(r"\r\n|\r|\n", text)  # YAML's line breaks only
    if mark.line >= len(lines):
        return False
    return lines[mark.line][mark.column : mark.column + 1] == "\t"


def size_problem(file: str, size: int) -> Problem:
    """The problem for a file of `size` bytes, above MAX_BYTES."""
    return Problem(
        file,
        1,
        1,
        "",
        f"the file is {size} bytes; a plan may be at most {MAX_BYTES} bytes",
        "a plan is a few kilobytes; is this the right file?",
    )


def compose(text: str, file: str) -> tuple[Node | None, list[Problem]]:
    """Build the node tree of `text`; the list holds every problem found.

    Problems that make going on pointless (syntax errors, limits) end composition,
    and the tree is then None.
    """
    size = len(text) if len(text) > MAX_BYTES else len(text.encode("utf-8"))
    if size > MAX_BYTES:
        return None, [size_problem(file, size)]
    composer = _Composer(file)
    try:
        for event in yaml.parse(text, Loader=_Parser):
            composer.feed(event)
    except _Fatal as fatal:
        mark = fatal.mark
        composer.problems.append(
            Problem(file, mark.line, mark.column, "", fatal.message, fatal.hint)
        )
        return None, composer.problems
    except yaml.MarkedYAMLError as exc:
        where = exc.problem_mark or exc.context_mark
        line, column = (where.line + 1, where.column + 1) if where else (1, 1)
        if "nesting depth" in str(exc.problem):
            # libyaml ≥ 0.2.6 has a nesting limit of its own (1,000 levels) that
            # can trip before ours does; the user sees flagramp's rule either way.
            composer.problems.append(
                Problem(file, line, column, "", _TOO_DEEP, _TOO_DEEP_HINT)
            )
            return None, composer.problems
        if _is_tab(text, where) or "tab character" in str(exc.problem):
            composer.problems.append(
                Problem(file, line, column, "", _TAB, "replace the tab with spaces")
            )
            return None, composer.problems
        message = f"YAML syntax: {exc.problem or exc.context}"
        if exc.context and exc.problem:
            message += f" ({exc.context})"
        composer.problems.append(Problem(file, line, column, "", message))
        return None, composer.problems
    except yaml.YAMLError as exc:
        composer.problems.append(Problem(file, 1, 1, "", f"YAML: {exc}"))
        return None, composer.problems
    return composer.root, composer.problems
