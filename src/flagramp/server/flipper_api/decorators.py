"""Feature and actor JSON, as Flipper's API decorators write them.

A feature is `{"key", "state", "gates"}`; each gate is `{"key", "value", "name"}` in
Flipper's gate order, the value in the adapter's raw form: boolean `"true"` or null
(a string, not a JSON bool), percentages as strings or null, actors and groups as
arrays, the expression as an object or null. Gate `key`s are plural (`actors`),
`name`s singular (`actor`).
"""

from __future__ import annotations

from collections.abc import Iterable

from flagramp.core.flags import Flag, flag_to_gates
from flagramp.core.flags.gates import GATES
from flagramp.core.types import Json


def feature_json(
    served: Flag, *, exclude_gates: bool = False, exclude_gate_names: bool = False
) -> dict[str, Json]:
    """A feature as Flipper's API serves it; `served` is the flag's Flipper view."""
    result: dict[str, Json] = {"key": served.key, "state": served.state}
    if exclude_gates:
        return result
    values = flag_to_gates(served)
    gates: list[Json] = []
    for gate in GATES:
        entry: dict[str, Json] = {"key": gate.key, "value": values[gate.key]}
        if not exclude_gate_names:
            entry["name"] = gate.name
        gates.append(entry)
    result["gates"] = gates
    return result


def actor_json(flipper_id: str, enabled: Iterable[tuple[str, bool]]) -> dict[str, Json]:
    """`GET /actors/:flipper_id`: which features are on for the actor."""
    features: dict[str, Json] = {name: {"enabled": on} for name, on in enabled}
    return {"flipper_id": flipper_id, "features": features}
