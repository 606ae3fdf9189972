"""Changes to a flag, as pure functions with Flipper's semantics.

Each takes a flag and returns the changed flag; the store applies them inside one
transaction with an audit row. Flipper's rules are kept even where they surprise:
enabling the boolean gate clears every other gate, and disabling it clears all.
"""

from __future__ import annotations

from collections.abc import Mapping

from flagramp.core.errors import InvalidExpression
from flagramp.core.flags.expressions import (
    compile_expression,
    has_empty_group,
    normalize_expression,
)
from flagramp.core.flags.model import Flag, unique
from flagramp.core.flags.percentage import ZERO, Percentage
from flagramp.core.types import Json


def enable(flag: Flag) -> Flag:
    """Fully on. Like Flipper, every other gate is cleared; flagramp keeps its own
    rules (deny list, eligibility, bucket key, description), which are not gates."""
    return clear(flag).with_changes(boolean=True)


def clear(flag: Flag) -> Flag:
    """Remove every gate value (Flipper's `clear`, also boolean disable)."""
    return Flag(
        key=flag.key,
        denied_actors=flag.denied_actors,
        eligibility=flag.eligibility,
        description=flag.description,
        actor_type=flag.actor_type,
        # Kept so that a flag turned off and on again gets the same actors back.
        bucket_key=flag.bucket_key,
    )


def disable(flag: Flag) -> Flag:
    """Off for everyone: Flipper's boolean disable, which clears all gates."""
    return clear(flag)


def set_percentage_of_actors(flag: Flag, pct: Percentage) -> Flag:
    """Enable for a stable share of actors."""
    return flag.with_changes(percentage_of_actors=pct)


def set_percentage_of_time(flag: Flag, pct: Percentage) -> Flag:
    """Enable for a share of checks, drawn afresh each time."""
    return flag.with_changes(percentage_of_time=pct)


def disable_percentage_of_actors(flag: Flag) -> Flag:
    """Flipper writes "0" rather than deleting the value."""
    return flag.with_changes(percentage_of_actors=ZERO)


def add_actor(flag: Flag, flipper_id: str) -> Flag:
    """Put an actor on the allow list."""
    return flag.with_changes(actors=unique((*flag.actors, flipper_id)))


def remove_actor(flag: Flag, flipper_id: str) -> Flag:
    """Take an actor off the allow list."""
    return flag.with_changes(actors=tuple(a for a in flag.actors if a != flipper_id))


def add_group(flag: Flag, group: str) -> Flag:
    """Enable for a named group (a segment)."""
    return flag.with_changes(groups=unique((*flag.groups, group)))


def remove_group(flag: Flag, group: str) -> Flag:
    """Disable a named group."""
    return flag.with_changes(groups=tuple(g for g in flag.groups if g != group))


def deny_actor(flag: Flag, flipper_id: str) -> Flag:
    """Keep an actor off whatever the gates say (flagramp's addition)."""
    return flag.with_changes(denied_actors=unique((*flag.denied_actors, flipper_id)))


def undeny_actor(flag: Flag, flipper_id: str) -> Flag:
    """Take an actor off the deny list."""
    return flag.with_changes(
        denied_actors=tuple(a for a in flag.denied_actors if a != flipper_id)
    )


def set_eligibility(flag: Flag, segment: str | None) -> Flag:
    """Limit the flag to a segment (None: everyone is eligible)."""
    return flag.with_changes(eligibility=segment)


def set_bucket_key(flag: Flag, bucket_key: str | None) -> Flag:
    """Bucket actors on `bucket_key` (flags launched together with shared users
    name the first flag's key); None, or the flag's own key, restores Flipper's
    rule. Changing it while a partial percentage is on re-buckets who has it."""
    return flag.with_changes(bucket_key=bucket_key)


def set_expression(flag: Flag, expression: Mapping[str, Json]) -> Flag:
    """Enable by expression; raises InvalidExpression for what Flipper would refuse."""
    raw: Json = dict(expression)
    compile_expression(raw)
    if has_empty_group(raw):
        raise InvalidExpression("an Any or All group has no arguments")
    normalized = normalize_expression(raw)
    assert isinstance(normalized, dict)
    return flag.with_changes(expression=normalized)


def remove_expression(flag: Flag) -> Flag:
    """Drop the expression gate."""
    return flag.with_changes(expression=None)
