"""What a Ruby Flipper client is given for a flag: Flipper's gates and nothing else.

Flipper's clients evaluate flags themselves, in Ruby, from the gate values they read,
and know nothing of flagramp's deny lists and eligibility segments. A flag without
those additions is given as it is. A flag with them is given, since Flipper 1.1 can
say the same thing, as one expression gate holding the whole rule, every other gate
emptied and a percentage left at `"0"` (as Flipper writes a disabled percentage):
eligibility `ehr in [oracle]` with 25 % of actors inside it becomes

    {"All": [{"Equal": [{"Property": ["ehr"]}, "oracle"]},
             {"PercentageOfActors": [{"Property": ["flipper_id"]}, 25]}]}

The HTTP API serves this view and the Flipper-tables store writes it, so both give a
Ruby app the answer flagramp gives. Where the answers can still differ (Flipper
before 1.1 has no expression gate; a few rules have no exact expression), the view
lists the differences, and `Evaluator.explain` repeats them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from flagramp.core.flags.model import Flag
from flagramp.core.flags.percentage import ZERO, Percentage
from flagramp.core.flags.ruby import ruby_to_number
from flagramp.core.flags.segments import Condition, Operator, Segment
from flagramp.core.types import Json


def _present(prop: Json) -> Json:
    """True when the property is not nil: a string equals its own `to_s` (even
    ""), and anything else has a `to_s` that is not empty. Flipper's expressions
    have no test for presence and null is not one of their constants."""
    text: Json = {"String": [prop]}
    return {"Any": [{"Equal": [prop, text]}, {"NotEqual": [text, ""]}]}


_FLIPPER_ID: Json = {"Property": ["flipper_id"]}
# Rationale: Ruby passes the app's own `flipper_id` (a string, or an Integer in some
# apps) while the actor gate compares its `to_s`; comparing `String(flipper_id)`
# gives the actor gate's answer for both.
_FLIPPER_ID_TEXT: Json = {"String": [_FLIPPER_ID]}
#: True when the check has an actor (without one, `flipper_id` is nil).
HAS_ACTOR: Json = _present(_FLIPPER_ID)

_ORDERING = {
    Operator.LT: "LessThan",
    Operator.LE: "LessThanOrEqualTo",
    Operator.GT: "GreaterThan",
    Operator.GE: "GreaterThanOrEqualTo",
}


@dataclass(frozen=True, slots=True)
class RubyDifference:
    """Which Ruby clients answer differently from flagramp for a flag, and why."""

    clients: str
    reason: str

    def __str__(self) -> str:
        return f"{self.clients}: {self.reason}"


@dataclass(frozen=True, slots=True)
class FlipperView:
    """A flag as Flipper's gates (`flag` has no deny list and no eligibility), and
    where a Ruby app reading only those gates answers differently from flagramp."""

    flag: Flag
    differences: tuple[RubyDifference, ...] = ()

    @property
    def is_exact(self) -> bool:
        """True when every Flipper version answers as flagramp does."""
        return not self.differences


class _Unexpressible(Exception):
    def __init__(self, reason: str) -> None:
        self.reason = reason


@dataclass
class _Notes:
    items: list[RubyDifference]

    def add(self, clients: str, reason: str) -> None:
        note = RubyDifference(clients, reason)
        if note not in self.items:
            self.items.append(note)


def flipper_view(flag: Flag, segments: Mapping[str, Segment]) -> FlipperView:
    """The Flipper gates that give a Ruby app flagramp's answer for `flag`.

    `segments` are the environment's segments: eligibility and groups name them.
    """
    view = _view(flag, segments)
    shared = _shared_users_difference(flag, view.flag)
    if shared is None:
        return view
    return FlipperView(view.flag, (*view.differences, shared))


def _shared_users_difference(flag: Flag, served: Flag) -> RubyDifference | None:
    # Flipper hashes the feature's own name, and no expression can hash another
    # name (there is no string concatenation), so a shared bucket key cannot be
    # served exactly; a share that is 0 or 100 % picks nobody by bucket.
    if flag.bucket_key is None:
        return None
    poa = served.percentage_of_actors
    partial = poa is not None and 0 < poa.value < 100
    expression: Json = None if served.expression is None else dict(served.expression)
    if not partial and not _hashes_actors(expression):
        return None
    return RubyDifference(
        "every Flipper version",
        "buckets actors on the flag's own name, not on its bucket key "
        f"{flag.bucket_key!r} (shared users), so a Ruby app gives this flag's "
        "percentage to other actors than flagramp does",
    )


def _hashes_actors(node: Json) -> bool:
    """True if an expression contains a `PercentageOfActors` function."""
    if isinstance(node, list):
        return any(_hashes_actors(n) for n in node)
    if not isinstance(node, dict):
        return False
    return any(k == "PercentageOfActors" or _hashes_actors(v) for k, v in node.items())


def _view(flag: Flag, segments: Mapping[str, Segment]) -> FlipperView:
    gates_only = _gates_only(flag)
    if not flag.denied_actors and flag.eligibility is None:
        return FlipperView(gates_only)
    notes = _Notes([])
    emptied = _emptied(flag)
    try:
        guards = _eligibility_guards(flag, segments, notes)
        if guards is None:
            return FlipperView(emptied)  # an undefined segment: off for everyone
        guards += [_not_denied(d) for d in flag.denied_actors]
        term = _gates_term(flag, segments, notes, actor_known=_needs_actor(guards))
    except _Unexpressible as exc:
        reason = f"{exc.reason}, so Ruby apps are given the flag off for everyone"
        return FlipperView(emptied, (RubyDifference("every Flipper version", reason),))
    if term is False:
        return FlipperView(emptied)  # no gate is open for anyone: nothing to say
    body = guards if term is True else [*guards, term]
    expression = body[0] if len(body) == 1 else {"All": body}
    assert isinstance(expression, dict)
    differences = (
        RubyDifference(
            "Flipper before 1.1",
            "has no expression gate, so a Ruby app sees this flag off for everyone "
            "(it is served as an expression because of its "
            f"{_additions(flag)})",
        ),
        RubyDifference(
            "Flipper 0.28 and later",
            "a check with several actors at once tests the expression for each "
            "actor alone; flagramp tests eligibility, deny list and percentage "
            "for the actors together",
        ),
        *notes.items,
    )
    return FlipperView(emptied.with_changes(expression=expression), differences)


def _gates_only(flag: Flag) -> Flag:
    return Flag(
        key=flag.key,
        boolean=flag.boolean,
        actors=flag.actors,
        groups=flag.groups,
        expression=flag.expression,
        percentage_of_actors=flag.percentage_of_actors,
        percentage_of_time=flag.percentage_of_time,
    )


def _emptied(flag: Flag) -> Flag:
    # A percentage that was set stays a row at "0" (Flipper's disabled value).
    return Flag(
        key=flag.key,
        percentage_of_actors=None if flag.percentage_of_actors is None else ZERO,
        percentage_of_time=None if flag.percentage_of_time is None else ZERO,
    )


def _additions(flag: Flag) -> str:
    parts = []
    if flag.eligibility is not None:
        parts.append(f"eligibility segment {flag.eligibility!r}")
    if flag.denied_actors:
        parts.append("deny list")
    return " and ".join(parts)


def _eligibility_guards(
    flag: Flag, segments: Mapping[str, Segment], notes: _Notes
) -> list[Json] | None:
    if flag.eligibility is None:
        return []
    segment = segments.get(flag.eligibility)
    if segment is None:
        return None
    guards = [_condition(c, notes) for c in segment.conditions]
    # flagramp's eligibility needs an actor; != and `not in` hold without one.
    return guards if _needs_actor(guards) else [HAS_ACTOR, *guards]


def _gates_term(
    flag: Flag, segments: Mapping[str, Segment], notes: _Notes, *, actor_known: bool
) -> Json:
    """The OR of the flag's gates: True (open for all), False (closed for all) or an
    expression. Gates that need an actor are guarded unless the guards need one."""
    pot = flag.percentage_of_time
    if flag.boolean or (pot is not None and pot.value >= 100):
        return True

    def with_actor(term: Json) -> Json:
        return term if actor_known else {"All": [HAS_ACTOR, term]}

    terms: list[Json] = []
    if flag.expression:
        terms.append(dict(flag.expression))
    terms += [_is_actor(a) for a in flag.actors]
    poa = flag.percentage_of_actors
    if poa is not None and not poa.is_zero:
        terms.append(with_actor({"PercentageOfActors": [_FLIPPER_ID, _number(poa)]}))
    if pot is not None and not pot.is_zero:
        terms.append({"LessThan": [{"Random": []}, pot.value / 100]})
    for group in flag.groups:
        segment = segments.get(group)
        if segment is None:
            continue  # an unregistered group never matches, in flagramp and Flipper
        try:
            parts = [_condition(c, notes) for c in segment.conditions]
        except _Unexpressible as exc:
            notes.add(
                "every Flipper version", f"{exc.reason}: group {group!r} is left out"
            )
            continue
        term: Json = parts[0] if len(parts) == 1 else {"All": parts}
        terms.append(term if _needs_actor(parts) else with_actor(term))
    if not terms:
        return False
    return terms[0] if len(terms) == 1 else {"Any": terms}


def _condition(condition: Condition, notes: _Notes) -> Json:
    prop: Json = {"Property": [condition.property]}
    values: list[Json] = []
    for value in condition.values:
        if value is None:
            raise _Unexpressible(
                f"the rule `{condition}` compares with null, which is not a "
                "constant in Flipper's expressions"
            )
        values.append(value)
    op = condition.operator
    if op in (Operator.EQ, Operator.IN):
        equals: list[Json] = [{"Equal": [prop, v]} for v in values]
        return equals[0] if len(equals) == 1 else {"Any": equals}
    if op in (Operator.NE, Operator.NOT_IN):
        # In flagramp a missing property never matches, not even `!=`.
        notes.add(
            "Flipper 1.1 and later",
            f"for an actor whose {condition.property!r} is null, `{condition}` "
            "holds in flagramp but not in Ruby (Ruby cannot tell null from missing)",
        )
        differs: list[Json] = [{"NotEqual": [prop, v]} for v in values]
        return {"All": [_present(prop), *differs]}
    notes.add(
        "Flipper 1.1 to 1.4.2",
        f"`{condition}` raises ArgumentError in Ruby when an actor's "
        f"{condition.property!r} is a string; flagramp answers false",
    )
    return {_ORDERING[op]: [prop, values[0]]}


def _is_actor(flipper_id: str) -> Json:
    term: Json = {"Equal": [_FLIPPER_ID_TEXT, flipper_id]}
    # `String(nil)` is "" too: an empty id on the list needs an actor to match.
    return term if flipper_id else {"All": [HAS_ACTOR, term]}


def _not_denied(flipper_id: str) -> Json:
    if flipper_id:
        return {"NotEqual": [_FLIPPER_ID_TEXT, flipper_id]}
    # Without an actor the id is nil, which is not "": nobody is denied.
    return {"NotEqual": [_FLIPPER_ID, ""]}


def _needs_actor(parts: list[Json]) -> bool:
    """True if one of the parts (ANDed) is false whenever the check has no actor."""
    return any(_false_without_actor(p) for p in parts)


def _false_without_actor(part: Json) -> bool:
    # Without an actor every property is nil: nil equals no constant and compares
    # with nothing. Only the shapes this module writes are recognised.
    if part == HAS_ACTOR:
        return True
    if not isinstance(part, dict) or not part:
        return False
    name, args = next(iter(part.items()))
    assert isinstance(args, list)
    if name == "Any":
        return all(_false_without_actor(a) for a in args)
    if name == "All":
        return any(_false_without_actor(a) for a in args)
    if name not in ("Equal", "NotEqual", *_ORDERING.values()):
        return False
    left, right = args
    is_property = isinstance(left, dict) and "Property" in left
    if name == "NotEqual":  # `String(nil)` is "": only `String(x) != ""` is false
        return right == "" and isinstance(left, dict) and "String" in left
    if right == {"String": [left]}:  # nil == "" is false
        return is_property
    if isinstance(right, dict | list):
        return False
    if left == _FLIPPER_ID_TEXT:
        return name == "Equal" and right != ""
    return is_property


def _number(pct: Percentage) -> int | float:
    return ruby_to_number(pct.text)
