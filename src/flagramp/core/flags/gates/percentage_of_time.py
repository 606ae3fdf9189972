"""The percentage-of-time gate: a fresh draw on every check."""

from __future__ import annotations

from flagramp.core.flags.gates.base import CheckContext, CompileEnv, Predicate
from flagramp.core.flags.model import EMPTY_PROPERTIES, Flag
from flagramp.core.types import Properties


class PercentageOfTimeGate:
    name = "percentage_of_time"
    key = "percentage_of_time"

    def open_reason(self, ctx: CheckContext) -> str | None:
        pct = ctx.flag.percentage_of_time
        if pct is None or pct.is_zero:
            return None
        if pct.value >= 100:
            return "percentage of time is 100%"
        draw = ctx.random()
        if draw < pct.value / 100:
            return f"random draw {draw:.4f} is below {pct}"
        return None

    def compile(self, flag: Flag, env: CompileEnv) -> Predicate | None:
        pct = flag.percentage_of_time
        if pct is None or pct.is_zero:
            return None
        share = pct.value / 100
        draw = env.random

        def lucky(
            _id: str | None = None, _props: Properties = EMPTY_PROPERTIES
        ) -> bool:
            return share >= 1 or draw() < share

        return lucky
