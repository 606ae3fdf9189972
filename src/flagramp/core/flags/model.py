"""The flag model: a feature's gate values, Flipper's plus flagramp's additions."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType

from flagramp.core.flags.percentage import Percentage
from flagramp.core.types import Json, Properties

EMPTY_PROPERTIES: Properties = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class Actor:
    """Who a flag is checked for: a `flipper_id` (`User;42`, an email, a UUID) and
    the properties segments and expressions read (`{"ehr": "oracle"}`)."""

    flipper_id: str
    properties: Properties = field(default_factory=lambda: EMPTY_PROPERTIES)


@dataclass(frozen=True)
class Flag:
    """One feature's gate values in one environment.

    Flipper's gates (boolean, expression, actors, groups, percentages) keep Flipper's
    raw forms so that an export round-trips byte for byte; `None` percentages mean
    "never set", which Flipper exports as null, unlike `"0"`.

    flagramp adds `denied_actors` (a deny always wins), `eligibility` (a segment
    name: the flag only ever applies inside it, seed 003), a description, and
    `bucket_key`: the string actors are bucketed on by `percentage_of_actors` and
    by expressions' `PercentageOfActors`. None (the default) is the flag's own key,
    Flipper's rule; flags launched together with shared users all name the first
    flag's key, so the same actors get all of them. A `bucket_key` equal to the
    flag's own key is stored as None: one behaviour, one representation.
    """

    key: str
    boolean: bool = False
    actors: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    expression: Mapping[str, Json] | None = None
    percentage_of_actors: Percentage | None = None
    percentage_of_time: Percentage | None = None
    denied_actors: tuple[str, ...] = ()
    eligibility: str | None = None
    description: str = ""
    actor_type: str | None = field(default=None, compare=True)
    bucket_key: str | None = None

    def __post_init__(self) -> None:
        if self.bucket_key == self.key:
            object.__setattr__(self, "bucket_key", None)

    @property
    def bucketing_key(self) -> str:
        """The string hashed with an actor's id: `bucket_key`, else the key."""
        return self.key if self.bucket_key is None else self.bucket_key

    @property
    def state(self) -> str:
        """Flipper's summary: `on`, `conditional` or `off`."""
        pot = self.percentage_of_time
        if self.boolean or (pot is not None and pot.value >= 100):
            return "on"
        poa = self.percentage_of_actors
        if (
            self.actors
            or self.groups
            or self.expression
            or (poa is not None and poa.value > 0)
            or (pot is not None and pot.value > 0)
        ):
            return "conditional"
        return "off"

    @property
    def is_fully_on(self) -> bool:
        """On for every eligible actor not denied."""
        poa = self.percentage_of_actors
        return self.state == "on" or (poa is not None and poa.value >= 100)

    def with_changes(self, **changes: object) -> Flag:
        """A copy with some fields replaced."""
        return replace(self, **changes)  # type: ignore[arg-type]


def unique(items: Iterable[str]) -> tuple[str, ...]:
    """Items in first-seen order without repeats (Ruby's Set keeps insertion order)."""
    return tuple(dict.fromkeys(items))
