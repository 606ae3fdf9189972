"""Flipper's expression language (`{"Equal": [{"Property": ["plan"]}, "basic"]}`).

An expression is compiled once, when a flag is compiled, into a tree of closures;
evaluating it is then a few calls. Semantics follow Ruby Flipper main (1.4.x plus the
unreleased Comparable fix): arguments are evaluated eagerly, only `nil` and `false`
are falsy, comparisons of incompatible types are false, `Duration` is accepted as
in 1.1–1.3.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from flagramp.core.errors import InvalidExpression
from flagramp.core.flags.bucketing import BUCKETS, SCALING_FACTOR
from flagramp.core.flags.ruby import ruby_to_number, ruby_to_s
from flagramp.core.types import Json

#: A value an expression produces: JSON scalars plus Ruby's Time.
Value = str | int | float | bool | None | dt.datetime


@dataclass(frozen=True, slots=True)
class ExpressionContext:
    """What an expression sees: the feature, one actor's properties, time, dice.

    `feature_name` is what `PercentageOfActors` hashes: the flag's bucketing key
    (its own key unless it shares its users with another flag)."""

    feature_name: str
    properties: Mapping[str, object]
    now: dt.datetime
    random: Callable[[], float]


Node = Callable[[ExpressionContext], Value]

#: The deepest nesting of functions accepted (`{"All": [{"Equal": …}]}` is 2).
#: Real expressions nest three or four deep; compiling and evaluating recurse once
#: per level, so without a limit a hostile expression ends in RecursionError.
MAX_DEPTH = 64

_DURATION_UNITS = {
    "second": 1,
    "minute": 60,
    "hour": 3_600,
    "day": 86_400,
    "week": 604_800,
    "month": 2_629_746,
    "year": 31_556_952,
}


def compile_expression(raw: Json) -> Node:
    """Build an evaluator for Flipper expression JSON; raises InvalidExpression,
    also for an expression nested more than MAX_DEPTH functions deep."""
    check_depth(raw)
    return _compile(raw)


def check_depth(raw: Json) -> None:
    """Raise InvalidExpression if `raw` nests more than MAX_DEPTH functions."""
    # An explicit stack: measuring the depth must not recurse itself.
    stack: list[tuple[Json, int]] = [(raw, 1)]
    while stack:
        node, depth = stack.pop()
        if not isinstance(node, dict) or not node:
            continue
        if depth > MAX_DEPTH:
            raise InvalidExpression(
                f"functions are nested more than {MAX_DEPTH} deep (the limit)"
            )
        args = next(iter(node.values()))
        for arg in args if isinstance(args, list) else [args]:
            stack.append((arg, depth + 1))


def _compile(raw: Json) -> Node:
    if isinstance(raw, dict):
        if not raw:
            raise InvalidExpression("an expression object needs a function name")
        # Flipper reads only the first key of a hash.
        name, args = next(iter(raw.items()))
        arg_list = args if isinstance(args, list) else [args]
        builder = _FUNCTIONS.get(name)
        if builder is None:
            raise InvalidExpression(f"unknown function {name!r}")
        return builder([_compile(a) for a in arg_list], name)
    if raw is None or isinstance(raw, list):
        raise InvalidExpression(f"{type(raw).__name__} is not a constant")
    constant: Value = raw
    return lambda _ctx: constant


def normalize_expression(raw: Json) -> Json:
    """The stored form: every argument list an array, as Flipper writes it;
    raises InvalidExpression past MAX_DEPTH."""
    check_depth(raw)
    return _normalize(raw)


def _normalize(raw: Json) -> Json:
    if isinstance(raw, dict) and raw:
        name, args = next(iter(raw.items()))
        arg_list = args if isinstance(args, list) else [args]
        return {name: [_normalize(a) for a in arg_list]}
    return raw


def has_empty_group(raw: Json) -> bool:
    """True if an `Any` or `All` anywhere has no arguments (Flipper won't enable it);
    raises InvalidExpression past MAX_DEPTH."""
    check_depth(raw)
    return _has_empty_group(raw)


def _has_empty_group(raw: Json) -> bool:
    if isinstance(raw, dict) and raw:
        name, args = next(iter(raw.items()))
        arg_list = args if isinstance(args, list) else [args]
        if name in ("Any", "All") and not arg_list:
            return True
        return any(_has_empty_group(a) for a in arg_list)
    return False


def is_truthy(value: Value) -> bool:
    """Ruby truthiness: only nil and false are false (0 and "" are true)."""
    return value is not None and value is not False


# --- functions ---------------------------------------------------------------


def _arity(args: list[Node], name: str, low: int, high: int) -> None:
    if not low <= len(args) <= high:
        want = str(low) if low == high else f"{low}..{high}"
        raise InvalidExpression(f"{name} takes {want} arguments, got {len(args)}")


def _all(args: list[Node], name: str) -> Node:
    def run(ctx: ExpressionContext) -> Value:
        values = [a(ctx) for a in args]  # eager, as in Ruby
        return all(is_truthy(v) for v in values)

    return run


def _any(args: list[Node], name: str) -> Node:
    def run(ctx: ExpressionContext) -> Value:
        values = [a(ctx) for a in args]
        return any(is_truthy(v) for v in values)

    return run


def _unary(convert: Callable[[Value], Value]) -> Callable[[list[Node], str], Node]:
    def build(args: list[Node], name: str) -> Node:
        _arity(args, name, 1, 1)
        (arg,) = args
        return lambda ctx: convert(arg(ctx))

    return build


def _property(args: list[Node], name: str) -> Node:
    _arity(args, name, 1, 1)
    (arg,) = args

    def run(ctx: ExpressionContext) -> Value:
        value = ctx.properties.get(_to_s(arg(ctx)))
        if isinstance(value, str | int | float | bool | dt.datetime):
            return value
        return None

    return run


def _equal(args: list[Node], name: str) -> Node:
    _arity(args, name, 2, 2)
    left, right = args
    return lambda ctx: ruby_equal(left(ctx), right(ctx))


def _not_equal(args: list[Node], name: str) -> Node:
    _arity(args, name, 2, 2)
    left, right = args
    return lambda ctx: not ruby_equal(left(ctx), right(ctx))


def _comparison(
    op: Callable[[object, object], bool],
) -> Callable[[list[Node], str], Node]:
    def build(args: list[Node], name: str) -> Node:
        _arity(args, name, 2, 2)
        left, right = args
        return lambda ctx: ruby_compare(left(ctx), right(ctx), op)

    return build


def _now(args: list[Node], name: str) -> Node:
    _arity(args, name, 0, 0)
    return lambda ctx: ctx.now.astimezone(dt.UTC)


def _time(args: list[Node], name: str) -> Node:
    _arity(args, name, 1, 1)
    (arg,) = args
    return lambda ctx: to_time(arg(ctx))


def _duration(args: list[Node], name: str) -> Node:
    _arity(args, name, 1, 2)

    def run(ctx: ExpressionContext) -> Value:
        scalar = args[0](ctx)
        unit = _to_s(args[1](ctx)) if len(args) > 1 else "second"
        unit = unit.lower().removesuffix("s")
        if not _is_numeric(scalar) or unit not in _DURATION_UNITS:
            raise InvalidExpression(f"Duration({scalar!r}, {unit!r})")
        assert isinstance(scalar, int | float)
        return scalar * _DURATION_UNITS[unit]

    return run


def _random(args: list[Node], name: str) -> Node:
    _arity(args, name, 0, 1)

    def run(ctx: ExpressionContext) -> Value:
        bound = args[0](ctx) if args else 0
        draw = ctx.random()
        if isinstance(bound, bool) or not isinstance(bound, int | float) or not bound:
            return draw
        if isinstance(bound, int):
            return int(draw * bound)
        return draw * bound

    return run


def _percentage(args: list[Node], name: str) -> Node:
    _arity(args, name, 1, 1)
    (arg,) = args
    return lambda ctx: min(max(float(to_number(arg(ctx))), 0.0), 100.0)


def _percentage_of_actors(args: list[Node], name: str) -> Node:
    _arity(args, name, 2, 2)
    text_node, pct_node = args

    def run(ctx: ExpressionContext) -> Value:
        text = _to_s(text_node(ctx))
        pct = to_number(pct_node(ctx))
        crc = zlib.crc32((ctx.feature_name + text).encode())
        return crc % BUCKETS < pct * SCALING_FACTOR

    return run


# --- Ruby value semantics ----------------------------------------------------


def _is_numeric(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _to_s(value: Value) -> str:
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S UTC")
    return ruby_to_s(value)


def to_boolean(value: Value) -> bool:
    """Flipper's `Typecast.to_boolean`: true only for true, 1, "true", "1"."""
    # Ruby looks the value up in a Hash (`eql?`): 1 is true, 1.0 is not.
    if isinstance(value, bool):
        return value
    if type(value) is int:
        return value == 1
    return value in ("true", "1")


def to_number(value: Value) -> int | float:
    """Flipper's `Typecast.to_number` (lenient, like Ruby's to_i/to_f)."""
    if _is_numeric(value):
        assert isinstance(value, int | float)
        return value
    if value is None:
        return 0
    if isinstance(value, str):
        return ruby_to_number(value)
    if isinstance(value, dt.datetime):
        return value.timestamp()
    raise InvalidExpression(f"cannot read {value!r} as a number")


def to_time(value: Value) -> dt.datetime:
    """Ruby's `Time.at(n).utc` for numbers, a lenient `Time.parse` for strings."""
    if _is_numeric(value):
        assert isinstance(value, int | float)
        return dt.datetime.fromtimestamp(value, dt.UTC)
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC)
    if isinstance(value, str):
        parsed = _parse_time(value)
        if parsed is not None:
            return parsed
    raise InvalidExpression(f"cannot read {value!r} as a time")


def _parse_time(text: str) -> dt.datetime | None:
    try:
        parsed = dt.datetime.fromisoformat(text.strip().replace(" UTC", "+00:00"))
    except ValueError:
        try:
            parsed = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError):
            return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed.astimezone(dt.UTC)


def ruby_equal(left: Value, right: Value) -> bool:
    """Ruby `==`: `1 == 1.0` is true; `"1" == 1` and `true == 1` are false."""
    if isinstance(left, bool) or isinstance(right, bool):
        return left is right
    if _is_numeric(left) and _is_numeric(right):
        return left == right
    return type(left) is type(right) and left == right


def ruby_compare(
    left: Value, right: Value, op: Callable[[object, object], bool]
) -> bool:
    """Ruby's Comparable: numbers with numbers, strings with strings, times with
    times; anything else is false (Flipper main rescues the ArgumentError)."""
    if _is_numeric(left) and _is_numeric(right):
        return op(left, right)
    if isinstance(left, str) and isinstance(right, str):
        return op(left, right)
    if isinstance(left, dt.datetime) and isinstance(right, dt.datetime):
        return op(left, right)
    return False


# --- the function table (after every builder and conversion it names) --------

_FUNCTIONS: dict[str, Callable[[list[Node], str], Node]] = {
    "All": _all,
    "Any": _any,
    "Boolean": _unary(to_boolean),
    "Number": _unary(to_number),
    "String": _unary(_to_s),
    "Property": _property,
    "Equal": _equal,
    "NotEqual": _not_equal,
    "GreaterThan": _comparison(lambda a, b: a > b),  # type: ignore[operator]
    "GreaterThanOrEqualTo": _comparison(lambda a, b: a >= b),  # type: ignore[operator]
    "LessThan": _comparison(lambda a, b: a < b),  # type: ignore[operator]
    "LessThanOrEqualTo": _comparison(lambda a, b: a <= b),  # type: ignore[operator]
    "Now": _now,
    "Time": _time,
    "Duration": _duration,
    "Random": _random,
    "Percentage": _percentage,
    "PercentageOfActors": _percentage_of_actors,
}
