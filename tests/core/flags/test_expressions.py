"""Expressions nested past the stated limit are refused, never a RecursionError."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest

from flagramp.core.errors import InvalidExpression
from flagramp.core.flags.expressions import (
    MAX_DEPTH,
    ExpressionContext,
    compile_expression,
    has_empty_group,
    normalize_expression,
)
from flagramp.core.types import Json

NOW = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)
CONTEXT = ExpressionContext("f", {}, NOW, lambda: 0.5)


def nested(depth: int, name: str = "All") -> Json:
    """`{"All": [{"All": [… true …]}]}` with `depth` functions, built without
    recursion so that 100,000 levels cost nothing to make."""
    expression: Json = True
    for _ in range(depth):
        expression = {name: [expression]}
    return expression


def test_the_limit_itself_compiles_and_evaluates() -> None:
    node = compile_expression(nested(MAX_DEPTH))
    assert node(CONTEXT) is True
    assert normalize_expression(nested(MAX_DEPTH)) == nested(MAX_DEPTH)
    assert has_empty_group(nested(MAX_DEPTH)) is False


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 1_000, 100_000])
@pytest.mark.parametrize(
    "use",
    [compile_expression, normalize_expression, has_empty_group],
    ids=["compile", "normalize", "has_empty_group"],
)
def test_one_level_past_the_limit_is_refused_with_the_limit_named(
    depth: int, use: Callable[[Json], object]
) -> None:
    with pytest.raises(InvalidExpression) as caught:
        use(nested(depth))
    assert str(caught.value) == (
        f"invalid expression: functions are nested more than {MAX_DEPTH} deep "
        "(the limit)"
    )


def test_depth_counts_functions_not_constants_or_siblings() -> None:
    wide: Json = {"Any": [nested(MAX_DEPTH - 1) for _ in range(50)]}
    assert compile_expression(wide)(CONTEXT) is True
    mixed: Json = {"Equal": [nested(MAX_DEPTH - 1, "Boolean"), True]}
    assert compile_expression(mixed)(CONTEXT) is True
