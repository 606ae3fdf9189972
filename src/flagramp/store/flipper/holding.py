"""Which rows a flag becomes in Flipper's tables, and what those tables refuse.

A flag is written as `flipper_view(flag, segments)`: Flipper's gates as they
are, or, for a flag with flagramp's additions (deny list, eligibility), one
expression gate holding the whole rule and a set percentage left at "0", as
the HTTP API serves it. So a Ruby app reading only these rows answers as
flagramp does (Flipper ≥ 1.1; `Evaluator.explain` says where a client differs).

Refused, with the reason, before anything is written:
- a flag with a bucket key (shared users): Ruby Flipper buckets every flag on
  its own name, so the Ruby app would give it other actors (SharedUsersUnsupported);
- an expression (a flag's own, or its additions') on a varchar `value` column:
  Flipper 0.25's migration; Flipper itself refuses expressions there;
- a value longer than the column holds (varchar(255), MySQL TEXT's 64 KB);
- on case-insensitive MySQL collations, two actors or groups of one flag that
  the database holds equal (`User;1` and `user;1`), or two flag keys.
"""

from __future__ import annotations

from collections.abc import Mapping

from flagramp.core.errors import FlipperTablesCannotHold, SharedUsersUnsupported
from flagramp.core.flags import Flag, Segment, flipper_view
from flagramp.store.flipper.rows import FeatureRows, rows_for
from flagramp.store.flipper.schema import FlipperSchema

#: What `rows_to_hold` raises for a flag Flipper's tables cannot hold.
CANNOT_HOLD = (FlipperTablesCannotHold, SharedUsersUnsupported)


def rows_to_hold(
    flag: Flag,
    segments: Mapping[str, Segment],
    schema: FlipperSchema,
    environment: str,
) -> FeatureRows:
    """The rows for `flag`; raises FlipperTablesCannotHold or
    SharedUsersUnsupported (one of CANNOT_HOLD)."""
    if flag.bucket_key is not None:
        # Refused even while the flag is off: its next percentage would differ.
        raise SharedUsersUnsupported([flag.bucket_key, flag.key], environment)
    view = flipper_view(flag, segments).flag
    # Eligibility and deny lists are refused even while the flag is off (and so
    # needs no expression yet): the first percentage would need one.
    needs_text = view.expression or flag.eligibility is not None or flag.denied_actors
    if needs_text and not schema.holds_text:
        raise FlipperTablesCannotHold(flag.key, environment, _no_text(flag, schema))
    rows = rows_for(view)
    if schema.value_limit is not None:
        for key, value in rows.gates:
            size = _size(value or "", schema)
            if size > schema.value_limit:
                unit = "bytes" if schema.limit_in_bytes else "characters"
                raise FlipperTablesCannotHold(
                    flag.key,
                    environment,
                    f"its {key} value is {size:,} {unit}, more than the value "
                    f"column ({schema.value_type}) holds ({schema.value_limit:,})",
                )
    return rows


def rows_or_none(
    flag: Flag, segments: Mapping[str, Segment], schema: FlipperSchema, environment: str
) -> FeatureRows | None:
    """`rows_to_hold`, or None for a flag these tables cannot hold."""
    try:
        return rows_to_hold(flag, segments, schema, environment)
    except CANNOT_HOLD:
        return None


def _no_text(flag: Flag, schema: FlipperSchema) -> str:
    if flag.eligibility is not None or flag.denied_actors:
        what = []
        if flag.eligibility is not None:
            what.append(f"eligibility segment {flag.eligibility!r}")
        if flag.denied_actors:
            what.append("deny list")
        needs = f"its {' and '.join(what)} must be written as an expression gate"
    else:
        needs = "it has an expression gate"
    return (
        f"{needs}, and the value column of these tables is {schema.value_type} "
        "(Flipper 0.25's migration), which Flipper itself refuses expressions on; "
        "tables migrated for Flipper 1.x (value text) can hold it"
    )


def _size(value: str, schema: FlipperSchema) -> int:
    return len(value.encode()) if schema.limit_in_bytes else len(value)
