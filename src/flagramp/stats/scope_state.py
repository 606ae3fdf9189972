"""What an ingest scope remembers between batches: one small state per actor.

A scope is one run string and flag (the engine opens one per stage attempt). For
each actor exposed in it, the scope keeps the lane of the actor's latest exposure
and a set of *first-time marks*: whether the actor was already counted as a new
exposed user in a lane, and, per first-time metric (share of users, unique
actors), whether the actor already counted for it in a lane. Nothing else carries
over from one batch to the next, so a process that keeps these states (in memory,
or in the store, looked up per batch) resumes exactly.

Marks are bits of one integer. `MarkLayout` names them: mark 0 is the exposure,
then the first-time metrics by name, in the order they were first seen by the
scope; a layout only ever grows, so a plan revision that adds a metric keeps the
meaning of the bits already stored. Bit `3 · mark + lane` (lanes on, off,
allow_listed) stays below 63, so a state fits a signed 64-bit column.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field

from flagramp.core.errors import StatsError
from flagramp.stats.windows import Lane

#: The mark of an actor's first exposure in a lane (metric names cannot start "(").
EXPOSED = "(exposed)"
#: Marks a layout can hold: 21 × 3 lanes = 63 bits.
MAX_MARKS = 21

_LANE_INDEX = {Lane.ON: 0, Lane.OFF: 1, Lane.ALLOW_LISTED: 2}


@dataclass(frozen=True, slots=True)
class ActorState:
    """One actor in a scope: the lane its outcomes count under, and its marks."""

    lane: Lane
    marks: int = 0


#: Looks up the states of these actor hashes (see `sketches.actor_hash`); actors
#: without a state are left out. Called once per batch, with every actor in it.
ActorLookup = Callable[[Collection[int]], Mapping[int, ActorState]]


@dataclass(frozen=True, slots=True)
class MarkLayout:
    """Which first-time mark each bit of an `ActorState.marks` holds."""

    names: tuple[str, ...] = (EXPOSED,)

    def __post_init__(self) -> None:
        if not self.names or self.names[0] != EXPOSED:
            raise StatsError(f"a mark layout starts with {EXPOSED!r}")
        if len(set(self.names)) != len(self.names):
            raise StatsError("mark names must be unique")
        if len(self.names) > MAX_MARKS:
            raise StatsError(
                f"a scope holds at most {MAX_MARKS - 1} first-time metrics "
                "(share_of_users, unique_actors)"
            )

    def including(self, names: Iterable[str]) -> MarkLayout:
        """This layout with `names` appended where missing (existing bits stay)."""
        added = tuple(n for n in dict.fromkeys(names) if n not in self.names)
        return self if not added else MarkLayout(self.names + added)

    def bit(self, name: str, lane: Lane) -> int:
        """The bit of mark `name` in `lane`; raises StatsError for an unknown mark."""
        try:
            index = self.names.index(name)
        except ValueError:
            raise StatsError(f"mark {name!r} is not in the layout") from None
        return 1 << (3 * index + _LANE_INDEX[lane])

    def to_text(self) -> str:
        """The layout as JSON text, for the store."""
        return json.dumps(list(self.names), separators=(",", ":"))

    @classmethod
    def from_text(cls, text: str) -> MarkLayout:
        """The layout `to_text` wrote; raises StatsError if it is malformed."""
        try:
            names = json.loads(text)
        except ValueError as exc:
            raise StatsError(f"malformed mark layout: {exc}") from exc
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise StatsError("malformed mark layout: expected a list of names")
        return cls(tuple(names))


@dataclass(frozen=True, slots=True)
class ScopeSnapshot:
    """All a scope carries between batches, to save and resume it in memory.

    `batch_keys` maps each remembered batch key to the epoch second after which a
    redelivery would count nothing (`BatchResult.forget_after`; inf: never).
    """

    actors: Mapping[int, ActorState] = field(default_factory=dict)
    marks: MarkLayout = field(default_factory=MarkLayout)
    batch_keys: Mapping[str, float] = field(default_factory=dict)

    def to_record(self) -> dict[str, object]:
        """JSON-able data (`from_record` reads it back)."""
        return {
            "actors": [
                [h, s.lane.value, s.marks] for h, s in sorted(self.actors.items())
            ],
            "marks": list(self.marks.names),
            "batch_keys": {
                k: (t if math.isfinite(t) else None)
                for k, t in sorted(self.batch_keys.items())
            },
        }

    @classmethod
    def from_record(cls, record: Mapping[str, object]) -> ScopeSnapshot:
        """The snapshot `to_record` wrote; raises StatsError if it is malformed."""
        try:
            rows, names, keys = (
                record["actors"],
                record["marks"],
                record["batch_keys"],
            )
            if not (
                isinstance(rows, list)
                and isinstance(names, list)
                and isinstance(keys, dict)
            ):
                raise TypeError("actors and marks must be lists, batch_keys a map")
            actors = {
                int(h): ActorState(Lane(str(lane)), int(marks))
                for h, lane, marks in rows
            }
            return cls(
                actors,
                MarkLayout(tuple(str(n) for n in names)),
                {str(k): math.inf if t is None else float(t) for k, t in keys.items()},
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise StatsError(f"malformed scope snapshot: {exc}") from exc
