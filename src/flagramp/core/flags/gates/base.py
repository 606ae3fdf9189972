"""What every gate answers, and the context it answers from."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

from flagramp.core.flags.model import Actor, Flag
from flagramp.core.flags.segments import Segment
from flagramp.core.types import Properties


class Predicate(Protocol):
    """A compiled single-actor check: `(flipper_id=None, properties={}) -> bool`.

    Both arguments have defaults so that a flag with a single gate can hand its
    predicate to callers as is, without a wrapper frame.
    """

    def __call__(
        self, actor_id: str | None = ..., props: Properties = ..., /
    ) -> bool: ...


@dataclass(frozen=True, slots=True)
class CheckContext:
    """Everything one check reads; built once per `explain`, never on the hot path."""

    flag: Flag
    actors: tuple[Actor, ...]
    segments: Mapping[str, Segment]
    now: dt.datetime
    random: Callable[[], float]

    @property
    def actor_ids(self) -> tuple[str, ...]:
        return tuple(a.flipper_id for a in self.actors)


@dataclass(frozen=True, slots=True)
class CompileEnv:
    """What compiling a flag may read: segments, the clock's reading, the dice.

    `now` is a callable so that a compiled flag keeps reading the caller's clock.
    """

    segments: Mapping[str, Segment]
    now: Callable[[], dt.datetime]
    random: Callable[[], float]


class Gate(Protocol):
    """A way a flag can be open for an actor (Flipper's gates)."""

    name: str
    key: str

    def open_reason(self, ctx: CheckContext) -> str | None:
        """Why this gate is open for the context's actors, or None if it is closed."""
        ...

    def compile(self, flag: Flag, env: CompileEnv) -> Predicate | None:
        """A fast single-actor check, or None when the gate has no value."""
        ...


class Blocker(Protocol):
    """A flagramp rule that keeps a flag off whatever the gates say."""

    name: str

    def block_reason(self, ctx: CheckContext) -> str | None:
        """Why the actors are kept off, or None if they are not."""
        ...
