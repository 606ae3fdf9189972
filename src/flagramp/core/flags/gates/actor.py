"""The actor gate: on for the flipper_ids in the flag's allow list."""

from __future__ import annotations

from flagramp.core.flags.gates.base import CheckContext, CompileEnv, Predicate
from flagramp.core.flags.model import EMPTY_PROPERTIES, Flag
from flagramp.core.types import Properties


class ActorGate:
    name = "actor"
    key = "actors"

    def open_reason(self, ctx: CheckContext) -> str | None:
        allowed = set(ctx.flag.actors)
        for actor_id in ctx.actor_ids:
            if actor_id in allowed:
                return f"{actor_id} is on the flag's actor list"
        return None

    def compile(self, flag: Flag, env: CompileEnv) -> Predicate | None:
        if not flag.actors:
            return None
        allowed = frozenset(flag.actors)

        def is_listed(
            actor_id: str | None = None, _props: Properties = EMPTY_PROPERTIES
        ) -> bool:
            return actor_id in allowed

        return is_listed
