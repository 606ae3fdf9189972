"""Evaluating flags: a compiled fast path, and `explain` that says which gate decided.

Both follow one order: blockers (deny, eligibility), then Flipper's gates; the first
open gate wins. The fast path is precomputed per flag (sets, crc32 of the key,
thresholds) so a check costs a few dictionary and hash operations; `explain` walks
the gate objects and is for people (CLI, API, reports), not for the hot path.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace

from flagramp.core.clock import Clock
from flagramp.core.flags.bucketing import bucket
from flagramp.core.flags.flipper_view import RubyDifference, flipper_view
from flagramp.core.flags.gates import (
    BLOCKERS,
    DENY,
    ELIGIBILITY,
    GATES,
    CheckContext,
    CompileEnv,
)
from flagramp.core.flags.gates.base import Predicate
from flagramp.core.flags.gates.percentage_of_actors import on_key
from flagramp.core.flags.model import EMPTY_PROPERTIES, Actor, Flag
from flagramp.core.flags.segments import Segment
from flagramp.core.types import Properties


@dataclass(frozen=True, slots=True)
class Evaluation:
    """The answer for one check: enabled or not, the deciding gate, and why.

    `gate` is a Flipper gate name (`boolean`, `expression`, `actor`,
    `percentage_of_actors`, `percentage_of_time`, `group`), a flagramp rule
    (`deny`, `eligibility`), or `default` when no gate is open.
    `ruby_differences` says which Ruby Flipper clients, reading the gates flagramp
    serves them, may answer differently for this flag (see `flipper_view`).
    """

    enabled: bool
    gate: str
    reason: str
    ruby_differences: tuple[RubyDifference, ...] = ()


class CompiledFlag:
    """A flag prepared for fast checks; rebuild it when the flag changes.

    `is_enabled(flipper_id=None, properties={})` is the check itself (an attribute
    holding the composed function, so a call costs one Python frame less).
    """

    __slots__ = ("flag", "is_enabled")

    def __init__(self, flag: Flag, env: CompileEnv) -> None:
        self.flag = flag
        self.is_enabled: Predicate = _compose(
            DENY.compile(flag, env),
            ELIGIBILITY.compile(flag, env),
            [p for g in GATES if (p := g.compile(flag, env)) is not None],
        )


class Evaluator:
    """Compiles flags and explains checks against one set of segments.

    Time and randomness are injected: `clock` is read only by expressions
    (`Now`), `random` only by `percentage_of_time` and `Random`.
    """

    def __init__(
        self,
        segments: Mapping[str, Segment],
        clock: Clock,
        random: Callable[[], float],
    ) -> None:
        self.segments = dict(segments)
        self.clock = clock
        self.random = random
        self._env = CompileEnv(self.segments, clock.now, random)

    def compile(self, flag: Flag) -> CompiledFlag:
        """Prepare `flag` for fast single-actor checks."""
        return CompiledFlag(flag, self._env)

    def is_enabled(self, flag: Flag, actors: Sequence[Actor] = ()) -> bool:
        """Flipper's `enabled?(*actors)`, without building an explanation's text.

        It compiles `flag` on every call: for checks on every request, keep the
        `CompiledFlag` from `compile()` and call its `is_enabled`.
        """
        if len(actors) <= 1:
            actor = actors[0] if actors else None
            compiled = self.compile(flag)
            if actor is None:
                return compiled.is_enabled()
            return compiled.is_enabled(actor.flipper_id, actor.properties)
        return self._decide(flag, actors).enabled

    def explain(self, flag: Flag, actors: Sequence[Actor] = ()) -> Evaluation:
        """Which gate decides for these actors, and why; and where Ruby clients
        served this flag's Flipper gates would answer differently."""
        ruby = flipper_view(flag, self.segments).differences
        return replace(self._decide(flag, actors), ruby_differences=ruby)

    def _decide(self, flag: Flag, actors: Sequence[Actor]) -> Evaluation:
        ctx = CheckContext(
            flag=flag,
            actors=tuple(actors),
            segments=self.segments,
            now=self.clock.now().astimezone(dt.UTC),
            random=self.random,
        )
        for blocker in BLOCKERS:
            reason = blocker.block_reason(ctx)
            if reason is not None:
                return Evaluation(False, blocker.name, reason)
        for gate in GATES:
            reason = gate.open_reason(ctx)
            if reason is not None:
                return Evaluation(True, gate.name, reason)
        return Evaluation(False, "default", _closed_reason(flag, ctx))


def _compose(
    denied: frozenset[str],
    admits: Callable[[Properties], bool] | None,
    openers: list[Predicate],
) -> Predicate:
    # One function per shape, each as flat as it can be. Rationale: this runs on
    # every request of the host app, and in CPython every extra call or generator
    # costs tens of nanoseconds (bench/eval.py measures it).
    if not openers:
        return _never
    open_for = openers[0] if len(openers) == 1 else _any_of(tuple(openers))
    if not denied and admits is None:
        return open_for
    if not denied and admits is not None:
        is_eligible = admits

        def eligible_and_open(
            actor_id: str | None = None, props: Properties = EMPTY_PROPERTIES
        ) -> bool:
            return is_eligible(props) and open_for(actor_id, props)

        return eligible_and_open
    if admits is None:

        def not_denied_and_open(
            actor_id: str | None = None, props: Properties = EMPTY_PROPERTIES
        ) -> bool:
            return actor_id not in denied and open_for(actor_id, props)

        return not_denied_and_open
    is_admitted = admits

    def general(
        actor_id: str | None = None, props: Properties = EMPTY_PROPERTIES
    ) -> bool:
        if actor_id in denied or not is_admitted(props):
            return False
        return open_for(actor_id, props)

    return general


def _any_of(openers: tuple[Predicate, ...]) -> Predicate:
    def any_open(
        actor_id: str | None = None, props: Properties = EMPTY_PROPERTIES
    ) -> bool:
        for is_open in openers:  # noqa: SIM110 - any(genexpr) costs a frame per gate
            if is_open(actor_id, props):
                return True
        return False

    return any_open


def _never(_id: str | None = None, _props: Properties = EMPTY_PROPERTIES) -> bool:
    return False


def _closed_reason(flag: Flag, ctx: CheckContext) -> str:
    if flag.state == "off":
        return "no gate is enabled"
    if not ctx.actors and (flag.actors or flag.percentage_of_actors or flag.groups):
        return "no actor given, and the enabled gates need one"
    pct = flag.percentage_of_actors
    if pct is not None and not pct.is_zero and ctx.actors:
        b = bucket(flag.bucketing_key, ctx.actor_ids)
        where = on_key(flag)
        return f"bucket {b} of 100000{where} is not below {pct} ({pct.threshold:g})"
    return "no enabled gate is open for these actors"
