"""Denied actors: flagramp's addition. A deny wins over every gate."""

from __future__ import annotations

from flagramp.core.flags.gates.base import CheckContext, CompileEnv
from flagramp.core.flags.model import Flag


class DenyRule:
    name = "deny"

    def block_reason(self, ctx: CheckContext) -> str | None:
        denied = set(ctx.flag.denied_actors)
        for actor_id in ctx.actor_ids:
            if actor_id in denied:
                return f"{actor_id} is on the flag's deny list"
        return None

    def compile(self, flag: Flag, env: CompileEnv) -> frozenset[str]:
        """The denied ids, for a set lookup on the hot path."""
        return frozenset(flag.denied_actors)
