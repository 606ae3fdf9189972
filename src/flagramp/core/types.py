"""Type aliases shared across flagramp's layers."""

from __future__ import annotations

from collections.abc import Mapping

#: A value an actor property may hold (what segments and expressions compare).
PropertyValue = str | int | float | bool | None

#: An actor's properties: `{"ehr": "oracle", "age": 71}`.
Properties = Mapping[str, PropertyValue]

#: JSON, as read from Flipper documents and expressions.
Json = str | int | float | bool | None | list["Json"] | dict[str, "Json"]
