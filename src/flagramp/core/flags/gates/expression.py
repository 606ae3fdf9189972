"""The expression gate: Flipper's JSON expressions over actor properties."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from flagramp.core.errors import InvalidExpression
from flagramp.core.flags.expressions import (
    ExpressionContext,
    Node,
    compile_expression,
    is_truthy,
)
from flagramp.core.flags.gates.base import CheckContext, CompileEnv, Predicate
from flagramp.core.flags.model import EMPTY_PROPERTIES, Flag
from flagramp.core.types import Properties


class ExpressionGate:
    name = "expression"
    key = "expression"

    def open_reason(self, ctx: CheckContext) -> str | None:
        expression = ctx.flag.expression
        if not expression:
            return None
        node = compile_expression(dict(expression))
        candidates: list[tuple[str | None, Properties]] = [
            (a.flipper_id, a.properties) for a in ctx.actors
        ] or [(None, EMPTY_PROPERTIES)]
        for actor_id, props in candidates:
            if _holds(
                node, ctx.flag.bucketing_key, actor_id, props, ctx.now, ctx.random
            ):
                who = actor_id if actor_id is not None else "the check without actor"
                return f"the expression holds for {who}"
        return None

    def compile(self, flag: Flag, env: CompileEnv) -> Predicate | None:
        if not flag.expression:
            return None
        node = compile_expression(dict(flag.expression))
        # PercentageOfActors hashes the feature name: the bucket key, so that an
        # expression's share holds the same actors as the flags it shares with.
        key, now, draw = flag.bucketing_key, env.now, env.random

        def holds(
            actor_id: str | None = None, props: Properties = EMPTY_PROPERTIES
        ) -> bool:
            return _holds(node, key, actor_id, props, now(), draw)

        return holds


def _holds(
    node: Node,
    key: str,
    actor_id: str | None,
    props: Properties,
    now: dt.datetime,
    draw: Callable[[], float],
) -> bool:
    properties = dict(props)
    if actor_id is not None:
        properties["flipper_id"] = actor_id
    ctx = ExpressionContext(key, properties, now, draw)
    try:
        return is_truthy(node(ctx))
    except InvalidExpression:
        # A value that cannot be read (an unparsable Time) closes the gate for this
        # actor instead of failing the host app's request.
        return False
