"""The boolean gate: on for everyone (who is not denied and is eligible)."""

from __future__ import annotations

from flagramp.core.flags.gates.base import CheckContext, CompileEnv, Predicate
from flagramp.core.flags.model import EMPTY_PROPERTIES, Flag
from flagramp.core.types import Properties


def _always(_id: str | None = None, _props: Properties = EMPTY_PROPERTIES) -> bool:
    return True


class BooleanGate:
    name = "boolean"
    key = "boolean"

    def open_reason(self, ctx: CheckContext) -> str | None:
        return "the flag is fully enabled" if ctx.flag.boolean else None

    def compile(self, flag: Flag, env: CompileEnv) -> Predicate | None:
        return _always if flag.boolean else None
