"""A `FlagMove` as a pure flag change, and what the store needs before it.

A run owns its flags while it runs: a move sets the flag to exactly the
stage's setting (its percentage of actors inside the eligibility segment, its
allow list) and clears every other gate, so that who sees the treatment is
what the stage says, whatever was there before; it also sets the key actors
are bucketed on (shared users). The deny list, description and actor type are
not gates and stay.
"""

from __future__ import annotations

from functools import partial

from flagramp.core.flags import Flag, Percentage, Segment
from flagramp.core.flags import operations as ops
from flagramp.core.plans import Plan
from flagramp.engine.steps import FlagMove
from flagramp.store import FlagChange


def stage_setting(flag: Flag, move: FlagMove) -> Flag:
    """`flag` set as `move` says; 0 % with no allow list is off for everyone."""
    cleared = ops.clear(flag)
    pct = percentage_of(move.percentage)
    # Flags launched together with shared users bucket on the phase's first
    # flag's key (None: the flag's own, Flipper's rule). `clear` keeps a bucket
    # key; the move says which one the stage wants.
    return ops.set_bucket_key(cleared, move.bucket_key).with_changes(
        percentage_of_actors=pct,
        actors=move.allow_list,
        eligibility=move.eligible,
    )


def percentage_of(value: float) -> Percentage:
    """A move's percentage as the flag keeps it: whole numbers as Flipper writes
    them (`"5"`), else rounded to the three decimals flags keep."""
    rounded = round(float(value), 3)
    return Percentage.parse(int(rounded) if rounded.is_integer() else rounded)


def setting_change(move: FlagMove) -> FlagChange:
    """The store's change for `move`."""
    return partial(stage_setting, move=move)


def declared_flag(plan: Plan, key: str) -> Flag | None:
    """The flag to create for `key` when the plan brings it into being
    (`create: true`), else None."""
    declared = plan.flags.get(key)
    if declared is None or not declared.create:
        return None
    return Flag(key, description=declared.description or "")


def declared_segment(plan: Plan, name: str) -> Segment | None:
    """The plan's segment `name` as the store keeps segments, if it has one."""
    segment = plan.segments.get(name)
    if segment is None:
        return None
    return Segment.from_rules(name, segment.rules, segment.description or "")
