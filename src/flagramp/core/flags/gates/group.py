"""The group gate: on for actors in a named segment (Flipper's registered groups).

In Ruby a group is a block registered in the app; in flagramp it is a segment, so the
rule is data that the store, the API and the audit log can see.
"""

from __future__ import annotations

from flagramp.core.flags.gates.base import CheckContext, CompileEnv, Predicate
from flagramp.core.flags.model import EMPTY_PROPERTIES, Flag
from flagramp.core.types import Properties


class GroupGate:
    name = "group"
    key = "groups"

    def open_reason(self, ctx: CheckContext) -> str | None:
        for group in ctx.flag.groups:
            segment = ctx.segments.get(group)
            if segment is None:
                continue  # an unregistered group never matches, as in Flipper
            for actor in ctx.actors:
                if segment.contains(actor.properties):
                    return f"{actor.flipper_id} is in group {group!r}"
        return None

    def compile(self, flag: Flag, env: CompileEnv) -> Predicate | None:
        segments = tuple(env.segments[g] for g in flag.groups if g in env.segments)
        if not segments:
            return None

        def in_group(
            actor_id: str | None = None, props: Properties = EMPTY_PROPERTIES
        ) -> bool:
            return actor_id is not None and any(s.contains(props) for s in segments)

        return in_group
