"""One feature as Flipper's ActiveRecord adapter keeps it: rows, both ways.

`flipper_features` holds one row per feature; `flipper_gates` one row per gate
value, all values strings: `(f, 'boolean', 'true')`, `(f, 'percentage_of_actors',
'12.5')`, one row per actor and per group, the expression as JSON text. A
feature exists if and only if it has a feature row (`get_all` joins from
`flipper_features`), so gate rows without one are not a feature here either.

Pure: the store reads and writes rows through `store/flipper/writes.py`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from flagramp.core.flags import Flag, flag_from_gates
from flagramp.core.flags.model import unique
from flagramp.core.types import Json
from flagramp.store.documents import canonical

#: The gates Flipper's adapter reads, in its gate order. Rows of any other key
#: are left as they are (Ruby ignores them too).
GATE_KEYS = (
    "boolean",
    "expression",
    "actors",
    "percentage_of_actors",
    "percentage_of_time",
    "groups",
)
SET_GATES = frozenset({"actors", "groups"})

GateRow = tuple[str, str | None]


@dataclass(frozen=True, eq=False)
class FeatureRows:
    """A feature's rows: whether its feature row exists, and its gate rows
    `(key, value)` of the known gate keys in the order the database gave them
    (by id). Two values compare equal when they hold the same rows, in any order;
    an absent feature equals any other absent one, stray gate rows or not.
    """

    exists: bool
    gates: tuple[GateRow, ...] = ()

    def signature(self) -> tuple[bool, frozenset[GateRow]]:
        """What equality compares: expressions by their JSON, not their text."""
        if not self.exists:
            return (False, frozenset())
        return (True, frozenset(_comparable(k, v) for k, v in self.gates))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, FeatureRows):
            return NotImplemented
        return self.signature() == other.signature()

    def __hash__(self) -> int:
        return hash(self.signature())

    def values(self, key: str) -> list[str | None]:
        """The values of one gate key, in row order."""
        return [v for k, v in self.gates if k == key]

    def to_json(self) -> str:
        """The canonical text kept in the outbox and the mirror."""
        gates: list[Json] = [[k, v] for k, v in self.gates]
        return canonical({"exists": self.exists, "gates": gates})

    @classmethod
    def from_json(cls, text: str) -> FeatureRows:
        """Read back what `to_json` wrote."""
        data = json.loads(text)
        return cls(bool(data["exists"]), tuple((k, v) for k, v in data["gates"]))


ABSENT = FeatureRows(False)


def rows_for(flag: Flag) -> FeatureRows:
    """The rows Ruby Flipper writes for a flag's Flipper gates (a `flipper_view`
    flag: its deny list and eligibility are already folded in)."""
    gates: list[GateRow] = []
    if flag.boolean:
        gates.append(("boolean", "true"))
    if flag.expression:
        gates.append(("expression", expression_text(flag.expression)))
    gates += [("actors", a) for a in flag.actors]
    if flag.percentage_of_actors is not None:
        gates.append(("percentage_of_actors", flag.percentage_of_actors.text))
    if flag.percentage_of_time is not None:
        gates.append(("percentage_of_time", flag.percentage_of_time.text))
    gates += [("groups", g) for g in flag.groups]
    return FeatureRows(True, tuple(gates))


def expression_text(expression: Mapping[str, Json]) -> str:
    """An expression as Flipper ≥ 1.1 stores it: compact JSON (`JSON.dump`)."""
    return json.dumps(expression, separators=(",", ":"), ensure_ascii=False)


def gate_values(rows: FeatureRows) -> dict[str, Json]:
    """The gate values Flipper's adapter returns for these rows (`get`).

    A boolean or percentage held by more than one row (which Ruby never writes)
    reads as its first row, as Ruby's `detect` does.
    """
    values: dict[str, Json] = {}
    for key in GATE_KEYS:
        found = rows.values(key)
        if key in SET_GATES:
            values[key] = list(unique(v for v in found if v is not None))
        elif key == "expression":
            values[key] = _expression(found[0]) if found else None
        else:
            values[key] = found[0] if found else None
    return values


def flag_from_rows(key: str, rows: FeatureRows, base: Flag | None = None) -> Flag:
    """The flag these rows give a Ruby app. flagramp's additions cannot be read
    from rows, so only `base`'s description and actor type are kept.

    Raises ImportInvalid for a value flagramp cannot hold (a percentage over
    100, an expression that does not build).
    """
    keep = Flag(
        key,
        description=base.description if base else "",
        actor_type=base.actor_type if base else None,
    )
    return flag_from_gates(key, gate_values(rows), keep)


def rows_by_feature(
    features: Iterable[str], gates: Iterable[tuple[str, str, str | None]]
) -> dict[str, FeatureRows]:
    """Group raw rows (feature keys; `(feature_key, key, value)` gate rows in id
    order) into FeatureRows by exact key; features without a row come out absent
    only if they have gate rows."""
    found: dict[str, list[GateRow]] = {}
    for feature_key, key, value in gates:
        if key in GATE_KEYS:
            found.setdefault(feature_key, []).append((key, value))
    existing = set(features)
    result = {k: FeatureRows(True, tuple(found.get(k, ()))) for k in existing}
    for k, rows in found.items():
        if k not in existing:
            result[k] = FeatureRows(False, tuple(rows))
    return result


def diff(
    current: Sequence[GateRow], target: FeatureRows
) -> tuple[list[GateRow], list[GateRow]]:
    """(rows to delete, rows to insert) that turn `current` into `target`."""
    wanted = {_comparable(k, v) for k, v in target.gates}
    have = {_comparable(k, v) for k, v in current}
    delete = [row for row in current if _comparable(*row) not in wanted]
    insert = [row for row in target.gates if _comparable(*row) not in have]
    return delete, insert


def _comparable(key: str, value: str | None) -> GateRow:
    if key == "expression" and value is not None:
        try:
            return (key, canonical(json.loads(value)))
        except ValueError:
            return (key, value)
    return (key, value)


def _expression(text: str | None) -> Json:
    if text is None:
        return None
    try:
        loaded: Json = json.loads(text)
    except ValueError:
        # Not JSON: flag_from_gates refuses it as an expression that is no object.
        return text
    return loaded
