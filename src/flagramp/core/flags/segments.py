"""Named segments: conditions over actor properties, all of which must hold.

A segment is written as short rules, one condition each::

    ehr in [oracle, cerner]
    age >= 65
    device != mobile

Segments serve three purposes: a flag's eligibility (the percentage applies inside
it; seed 003's "20 % of eligible users"), Flipper groups (a group name is a segment
name, so the Ruby app's registered blocks become data), and plan audiences.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum

from flagramp.core.errors import InvalidSegment
from flagramp.core.types import Properties, PropertyValue


class Operator(StrEnum):
    """A comparison a condition applies to one property."""

    EQ = "=="
    NE = "!="
    IN = "in"
    NOT_IN = "not in"
    LT = "<"
    LE = "<="
    GT = ">"
    GE = ">="


_ORDERING = {
    Operator.LT: lambda a, b: a < b,
    Operator.LE: lambda a, b: a <= b,
    Operator.GT: lambda a, b: a > b,
    Operator.GE: lambda a, b: a >= b,
}

# `not in` before `in`, two-character operators before one: the first match wins.
_RULE = re.compile(
    r"^\s*(?P<prop>[A-Za-z_][\w.\-]*)\s*"
    r"(?P<op>not\s+in|in|==|!=|<=|>=|<|>|=)\s*(?P<value>.*?)\s*$"
)
_POSITIVE = (Operator.EQ, Operator.IN)
_LIST_ITEM = re.compile(r"\"[^\"]*\"|'[^']*'|[^,]+")


@dataclass(frozen=True, slots=True)
class Condition:
    """One rule: `property op value(s)`. Missing properties never match."""

    property: str
    operator: Operator
    values: tuple[PropertyValue, ...]

    def matches(self, properties: Properties) -> bool:
        """True if the actor's properties satisfy this condition."""
        if self.property not in properties:
            return False
        actual = properties[self.property]
        op = self.operator
        if op is Operator.EQ or op is Operator.IN:
            return _is_member(actual, self.values)
        if op is Operator.NE or op is Operator.NOT_IN:
            return not _is_member(actual, self.values)
        expected = self.values[0]
        if not _comparable(actual, expected):
            return False
        return bool(_ORDERING[op](actual, expected))

    def compile(self) -> Callable[[Properties], bool]:
        """A fast equivalent of `matches`, for the evaluation hot path.

        Rationale: when every value is a string, set membership is exact (no number
        or bool equals a string), so `in frozenset` replaces the typed comparison.
        """
        prop, op = self.property, self.operator
        if op in _POSITIVE and all(type(v) is str for v in self.values):
            values = frozenset(self.values)
            if len(values) == 1:
                (only,) = values

                def equals(properties: Properties) -> bool:
                    return properties.get(prop) == only

                return equals

            def member(properties: Properties) -> bool:
                return properties.get(prop) in values

            return member
        return self.matches

    def __str__(self) -> str:
        if self.operator in (Operator.IN, Operator.NOT_IN):
            inner = ", ".join(_render(v) for v in self.values)
            return f"{self.property} {self.operator.value} [{inner}]"
        return f"{self.property} {self.operator.value} {_render(self.values[0])}"


@dataclass(frozen=True, slots=True)
class Segment:
    """A named set of conditions; an actor is in the segment if all of them hold."""

    name: str
    conditions: tuple[Condition, ...]
    description: str = ""

    def contains(self, properties: Properties) -> bool:
        """True if every condition holds for these properties."""
        return all(c.matches(properties) for c in self.conditions)

    def compile(self) -> Callable[[Properties], bool]:
        """A fast equivalent of `contains`, for the evaluation hot path."""
        checks = tuple(c.compile() for c in self.conditions)
        if len(checks) == 1:
            return checks[0]

        def all_hold(properties: Properties) -> bool:
            for check in checks:  # noqa: SIM110 - a generator is slower here
                if not check(properties):
                    return False
            return True

        return all_hold

    def rules(self) -> list[str]:
        """The conditions written back as rules (parse_rule reads them again)."""
        return [str(c) for c in self.conditions]

    @classmethod
    def from_rules(
        cls, name: str, rules: Iterable[str], description: str = ""
    ) -> Segment:
        """Build a segment from rule strings; raises InvalidSegment."""
        conditions = tuple(parse_rule(r) for r in rules)
        if not conditions:
            raise InvalidSegment(name, "a segment needs at least one rule")
        return cls(name=name, conditions=conditions, description=description)


def parse_rule(rule: str) -> Condition:
    """Parse `ehr in [oracle, cerner]`, `age >= 65`, `ehr == oracle`.

    Raises InvalidSegment with the reason when the rule cannot be read.
    """
    match = _RULE.match(rule)
    if match is None:
        raise InvalidSegment(rule, "expected `property operator value`")
    op_text = re.sub(r"\s+", " ", match["op"])
    operator = Operator.EQ if op_text == "=" else Operator(op_text)
    raw = match["value"]
    if not raw:
        raise InvalidSegment(rule, "a value is missing")
    if operator in (Operator.IN, Operator.NOT_IN):
        if not (raw.startswith("[") and raw.endswith("]")):
            raise InvalidSegment(rule, "`in` takes a list such as [oracle, cerner]")
        items = [p.strip() for p in _LIST_ITEM.findall(raw[1:-1]) if p.strip()]
        if not items:
            raise InvalidSegment(rule, "the list is empty")
        values = tuple(parse_scalar(item) for item in items)
    else:
        value = parse_scalar(raw)
        if operator in _ORDERING and not isinstance(value, int | float):
            raise InvalidSegment(rule, f"{operator.value} compares numbers only")
        values = (value,)
    return Condition(match["prop"], operator, values)


def parse_scalar(text: str) -> PropertyValue:
    """Read `42`, `4.2`, `true`, `null`, `"quoted"` or a bare word as a value."""
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered in ("null", "none", "~"):
        return None
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        return text


def _is_member(actual: PropertyValue, values: tuple[PropertyValue, ...]) -> bool:
    # bool is an int in Python; `true == 1` must not match, as in Ruby and JSON.
    return any(
        isinstance(actual, bool) == isinstance(v, bool) and actual == v for v in values
    )


def _comparable(a: PropertyValue, b: PropertyValue) -> bool:
    numeric = (int, float)
    return (
        isinstance(a, numeric)
        and isinstance(b, numeric)
        and not isinstance(a, bool)
        and not isinstance(b, bool)
    )


def _render(value: PropertyValue) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str) and (
        parse_scalar(value) != value or "," in value or "]" in value or not value
    ):
        return f'"{value}"'
    return str(value)
