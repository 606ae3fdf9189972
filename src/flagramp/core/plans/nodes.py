"""YAML nodes that remember where they were written, and lookups by field path.

The loader builds these nodes itself (see `compose.py`) instead of letting PyYAML
construct Python objects, so that every value keeps its line and column and a
pydantic error path such as `("phases", 1, "stages", 0, "percentage")` can be
traced back to the exact place in the file.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from flagramp.core.plans.problems import Loc

#: What a scalar resolves to (YAML 1.2 core schema: no `yes`/`no` booleans).
Scalar = str | int | float | bool | None

#: Plain data as the models read it.
Data = Scalar | list["Data"] | dict[str, "Data"]


@dataclass(frozen=True, slots=True)
class Mark:
    """A 1-based line and column in the plan file."""

    line: int
    column: int


@dataclass(slots=True)
class ScalarNode:
    """A scalar value and where it starts."""

    mark: Mark
    value: Scalar


@dataclass(slots=True)
class SequenceNode:
    """A list of nodes."""

    mark: Mark
    items: list[Node] = field(default_factory=list)


@dataclass(slots=True)
class MappingNode:
    """Key/value pairs; keys are strings (the loader rejects others)."""

    mark: Mark
    pairs: list[tuple[ScalarNode, Node]] = field(default_factory=list)

    def get(self, key: str) -> tuple[ScalarNode, Node] | None:
        """The (key node, value node) pair for `key`, if present."""
        for pair in self.pairs:
            if pair[0].value == key:
                return pair
        return None


Node = ScalarNode | SequenceNode | MappingNode


def to_data(node: Node) -> Data:
    """The plain Python value a node stands for."""
    if isinstance(node, ScalarNode):
        return node.value
    if isinstance(node, SequenceNode):
        return [to_data(item) for item in node.items]
    return {str(k.value): to_data(v) for k, v in node.pairs}


def locate(root: Node, loc: Loc, skip: frozenset[str] = frozenset()) -> Mark:
    """Where the value at `loc` was written, or its nearest written parent.

    `skip` names path parts that are not in the file (pydantic adds the tag of a
    tagged union, e.g. `rollout`, to error paths). A missing field is reported at
    its parent mapping, which is where it has to be added.
    """
    node: Node = root
    for part in loc:
        found = _child(node, part)
        if found is None:
            if isinstance(part, str) and part in skip:
                continue
            break
        node = found
    return node.mark


def key_mark(root: Node, loc: Loc) -> Mark | None:
    """Where the key of the last part of `loc` was written (for unknown fields)."""
    if not loc:
        return None
    parent: Node = root
    for part in loc[:-1]:
        found = _child(parent, part)
        if found is None:
            return None
        parent = found
    if isinstance(parent, MappingNode) and isinstance(loc[-1], str):
        pair = parent.get(loc[-1])
        return pair[0].mark if pair else None
    return None


def present(root: Node, loc: Loc) -> bool:
    """True if every part of `loc` is written in the file."""
    node: Node = root
    for part in loc:
        found = _child(node, part)
        if found is None:
            return False
        node = found
    return True


def strings(node: Node, loc: Loc = ()) -> Iterator[tuple[Loc, ScalarNode]]:
    """Every string scalar under `node`, with its path."""
    if isinstance(node, ScalarNode):
        if isinstance(node.value, str):
            yield loc, node
    elif isinstance(node, SequenceNode):
        for index, item in enumerate(node.items):
            yield from strings(item, (*loc, index))
    else:
        for key, value in node.pairs:
            yield from strings(value, (*loc, str(key.value)))


def _child(node: Node, part: str | int) -> Node | None:
    if isinstance(node, SequenceNode) and isinstance(part, int):
        return node.items[part] if 0 <= part < len(node.items) else None
    if isinstance(node, MappingNode):
        pair = node.get(str(part))
        return pair[1] if pair else None
    return None


def flatten_lists(node: Node, key: str) -> None:
    """Splice lists nested in the lists under `key` (YAML has no list splat)."""
    seen: set[int] = set()
    stack: list[Node] = [node]
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue  # aliases share nodes; visit each once
        seen.add(id(current))
        if isinstance(current, SequenceNode):
            stack.extend(current.items)
            continue
        if not isinstance(current, MappingNode):
            continue
        for index, (name, value) in enumerate(current.pairs):
            if (
                name.value == key
                and isinstance(value, SequenceNode)
                and any(isinstance(item, SequenceNode) for item in value.items)
            ):
                items: list[Node] = []
                for item in value.items:
                    if isinstance(item, SequenceNode):
                        items.extend(item.items)
                    else:
                        items.append(item)
                value = SequenceNode(value.mark, items)
                current.pairs[index] = (name, value)
            stack.append(value)
