"""The percentage-of-actors gate: a stable share of actors, by crc32 bucket."""

from __future__ import annotations

import zlib

from flagramp.core.flags.bucketing import BUCKETS, bucket
from flagramp.core.flags.gates.base import CheckContext, CompileEnv, Predicate
from flagramp.core.flags.model import EMPTY_PROPERTIES, Flag
from flagramp.core.types import Properties


def on_key(flag: Flag) -> str:
    """` (on key 'x')` for a flag bucketed on another flag's key, else nothing."""
    return "" if flag.bucket_key is None else f" (on key {flag.bucket_key!r})"


class PercentageOfActorsGate:
    name = "percentage_of_actors"
    key = "percentage_of_actors"

    def open_reason(self, ctx: CheckContext) -> str | None:
        pct = ctx.flag.percentage_of_actors
        if pct is None or pct.is_zero or not ctx.actors:
            return None
        if pct.value >= 100:
            return "percentage of actors is 100%"
        b = bucket(ctx.flag.bucketing_key, ctx.actor_ids)
        if b < pct.threshold:
            return (
                f"bucket {b} of 100000{on_key(ctx.flag)} is below {pct} "
                f"({pct.threshold:g})"
            )
        return None

    def compile(self, flag: Flag, env: CompileEnv) -> Predicate | None:
        pct = flag.percentage_of_actors
        if pct is None or pct.is_zero:
            return None
        threshold = pct.threshold
        if pct.value >= 100:

            def has_actor(
                actor_id: str | None = None, _props: Properties = EMPTY_PROPERTIES
            ) -> bool:
                return actor_id is not None

            return has_actor
        # crc32(key + id) == crc32(id, crc32(key)): hash the key once per flag, so
        # a shared bucket key costs nothing per check.
        key_crc = zlib.crc32(flag.bucketing_key.encode())
        crc32 = zlib.crc32

        def in_bucket(
            actor_id: str | None = None, _props: Properties = EMPTY_PROPERTIES
        ) -> bool:
            if actor_id is None:
                return False
            return crc32(actor_id.encode(), key_crc) % BUCKETS < threshold

        return in_bucket
