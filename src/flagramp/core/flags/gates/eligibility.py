"""Eligibility: flagramp's addition. The flag applies only inside a segment.

Seed 003: "20 % of eligible users", "Vista patients see no change". Because an
actor's bucket does not depend on eligibility, `percentage_of_actors` = 20 enables
20 % of the eligible population, and everyone outside it gets the default (off),
whatever the other gates say. A flag whose segment is not defined is off for all:
failing closed is the safe reading of a dangling reference.
"""

from __future__ import annotations

from collections.abc import Callable

from flagramp.core.flags.gates.base import CheckContext, CompileEnv
from flagramp.core.flags.model import Flag
from flagramp.core.types import Properties


class EligibilityRule:
    name = "eligibility"

    def block_reason(self, ctx: CheckContext) -> str | None:
        name = ctx.flag.eligibility
        if name is None:
            return None
        segment = ctx.segments.get(name)
        if segment is None:
            return f"eligibility segment {name!r} is not defined"
        if any(segment.contains(a.properties) for a in ctx.actors):
            return None
        return f"not in eligibility segment {name!r} ({'; '.join(segment.rules())})"

    def compile(
        self, flag: Flag, env: CompileEnv
    ) -> Callable[[Properties], bool] | None:
        """Who is eligible, as a fast predicate; None when everyone is."""
        name = flag.eligibility
        if name is None:
            return None
        segment = env.segments.get(name)
        if segment is None:
            return _nobody
        return segment.compile()


def _nobody(_props: Properties) -> bool:
    return False
