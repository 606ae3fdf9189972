"""Flipper's export document (`{"version": 1, "features": {...}}`), both ways.

The gate values keep Flipper's raw forms: boolean `"true"` or null, percentages as
strings in Ruby's `to_s` form, actors and groups as arrays in insertion order, the
expression as an object. So an import followed by an export gives back the same JSON.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from flagramp.core.errors import FlagError, ImportInvalid
from flagramp.core.flags.expressions import compile_expression, normalize_expression
from flagramp.core.flags.model import Flag, unique
from flagramp.core.flags.percentage import Percentage
from flagramp.core.types import Json


def flag_to_gates(flag: Flag) -> dict[str, Json]:
    """A flag's gate values as Flipper's adapter returns them."""
    return {
        "boolean": "true" if flag.boolean else None,
        "groups": list(flag.groups),
        "actors": list(flag.actors),
        "expression": dict(flag.expression) if flag.expression else None,
        "percentage_of_actors": _pct_text(flag.percentage_of_actors),
        "percentage_of_time": _pct_text(flag.percentage_of_time),
    }


def export_document(flags: Iterable[Flag]) -> dict[str, Json]:
    """A Flipper export v1 document for these flags."""
    features: dict[str, Json] = {f.key: flag_to_gates(f) for f in flags}
    return {"version": 1, "features": features}


def flag_from_gates(
    key: str, gates: Mapping[str, Json], base: Flag | None = None
) -> Flag:
    """Build a flag from Flipper gate values (as `Typecast.features_hash` reads them).

    flagramp's own fields (deny list, eligibility, description) come from `base`
    when given, so re-importing a Flipper export keeps them.
    """
    flag = base if base is not None else Flag(key=key)
    expression = gates.get("expression")
    if expression is not None and not isinstance(expression, dict):
        raise ImportInvalid(key, "expression must be an object")
    if expression:
        try:
            compile_expression(expression)
        except FlagError as exc:
            raise ImportInvalid(key, str(exc)) from exc
        normalized = normalize_expression(expression)
        assert isinstance(normalized, dict)
        expression = normalized
    return flag.with_changes(
        key=key,
        boolean=_to_boolean(gates.get("boolean")),
        groups=_string_set(key, "groups", gates.get("groups")),
        actors=_string_set(key, "actors", gates.get("actors")),
        expression=expression or None,
        percentage_of_actors=_pct(key, gates.get("percentage_of_actors")),
        percentage_of_time=_pct(key, gates.get("percentage_of_time")),
    )


def parse_export(document: Json, source: str = "import") -> dict[str, dict[str, Json]]:
    """Check an export document's shape and return its features by key.

    Only `features` is read, as in Flipper; `version` is not checked.
    """
    if not isinstance(document, dict) or "features" not in document:
        raise ImportInvalid(source, 'not a Flipper export: no "features" key')
    features = document["features"]
    if not isinstance(features, dict):
        raise ImportInvalid(source, '"features" must be an object')
    parsed: dict[str, dict[str, Json]] = {}
    for key, gates in features.items():
        if not isinstance(gates, dict):
            raise ImportInvalid(source, f"feature {key!r} must be an object of gates")
        parsed[key] = gates
    return parsed


def _pct_text(pct: Percentage | None) -> str | None:
    return None if pct is None else pct.text


def _to_boolean(value: Json) -> bool:
    # Typecast.to_boolean after to_s: only "true" and "1" are true.
    if value is None:
        return False
    text = "true" if value is True else "false" if value is False else str(value)
    return text in ("true", "1")


def _string_set(key: str, gate: str, value: Json) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise ImportInvalid(key, f"{gate} must be an array")
    if any(isinstance(v, list | dict) for v in value):
        # A nested array is no actor id or group name (and would print unbounded).
        raise ImportInvalid(key, f"{gate} must be an array of strings")
    return unique(str(v) for v in value)


def _pct(key: str, value: Json) -> Percentage | None:
    if value is None:
        return None
    if isinstance(value, list | dict):
        raise ImportInvalid(key, "a percentage must be a string or a number")
    pct = Percentage.from_flipper(value)
    if not 0 <= pct.value <= 100:
        raise ImportInvalid(key, f"percentage {pct.text!r} is outside 0..100")
    return pct
