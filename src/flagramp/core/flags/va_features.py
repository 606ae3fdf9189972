"""VA's `config/features.yml`: the toggle catalogue of vets-api.

Shape: `features: {name: {actor_type, description, enable_in_development}}`.
Reading it lets a team bring its whole catalogue over with descriptions; the
`enable_in_development` toggles are turned on in the `development` environment.
"""

from __future__ import annotations

from dataclasses import dataclass

from flagramp.core.errors import ImportInvalid
from flagramp.core.types import Json


@dataclass(frozen=True, slots=True)
class CatalogueEntry:
    """One toggle from features.yml."""

    key: str
    description: str
    actor_type: str | None
    enable_in_development: bool


def parse_features_yml(
    document: Json, source: str = "features.yml"
) -> list[CatalogueEntry]:
    """Read a parsed features.yml; raises ImportInvalid naming the bad entry."""
    if not isinstance(document, dict) or not isinstance(document.get("features"), dict):
        raise ImportInvalid(source, 'expected a top-level "features:" mapping')
    features = document["features"]
    assert isinstance(features, dict)
    entries: list[CatalogueEntry] = []
    for key, body in features.items():
        if body is None:
            body = {}
        if not isinstance(body, dict):
            raise ImportInvalid(source, f"feature {key!r} must be a mapping")
        actor_type = body.get("actor_type")
        description = body.get("description") or ""
        enable_dev = body.get("enable_in_development", False)
        if actor_type is not None and not isinstance(actor_type, str):
            raise ImportInvalid(source, f"{key}.actor_type must be a string")
        if not isinstance(description, str):
            raise ImportInvalid(source, f"{key}.description must be a string")
        if not isinstance(enable_dev, bool):
            raise ImportInvalid(
                source, f"{key}.enable_in_development must be true/false"
            )
        entries.append(
            CatalogueEntry(str(key), description.strip(), actor_type, enable_dev)
        )
    return entries
