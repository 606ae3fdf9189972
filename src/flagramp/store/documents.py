"""Flags and segments as the canonical JSON text the store keeps and hashes."""

from __future__ import annotations

import json
from typing import Any

from flagramp.core.errors import StoreError
from flagramp.core.flags import Flag, Segment, flag_from_gates, flag_to_gates
from flagramp.core.types import Json


def load_document(stored: object, what: str) -> Json:
    """Parse a stored document; a damaged one (binary data, not JSON) raises
    StoreError naming `what`, never a decoding traceback."""
    if not isinstance(stored, str):
        raise StoreError(f"{what}: the stored document is not text")
    try:
        loaded: Json = json.loads(stored)
    except ValueError as exc:
        raise StoreError(f"{what}: the stored document is not JSON") from exc
    return loaded


def canonical(document: Json | dict[str, Any]) -> str:
    """Compact JSON with sorted keys: the same text for the same value, everywhere."""
    return json.dumps(
        document, sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )


def flag_document(flag: Flag) -> dict[str, Json]:
    """Everything that describes a flag, as JSON (Flipper gates plus flagramp's).

    `bucket_key` is there only when set. Rationale: the audit log keeps these
    documents' text and `audit verify` replays it, so a flag without one must
    keep the text it had before the field existed (a `"bucket_key": null` would
    make the first change after an upgrade not follow its history).
    """
    document: dict[str, Json] = {
        "key": flag.key,
        "gates": flag_to_gates(flag),
        "denied_actors": list(flag.denied_actors),
        "eligibility": flag.eligibility,
        "description": flag.description,
        "actor_type": flag.actor_type,
    }
    if flag.bucket_key is not None:
        document["bucket_key"] = flag.bucket_key
    return document


def flag_from_document(document: Json) -> Flag:
    """Read back what `flag_document` wrote."""
    if not isinstance(document, dict) or not isinstance(document.get("gates"), dict):
        raise StoreError("a stored flag document is damaged")
    key = str(document["key"])
    gates = document["gates"]
    assert isinstance(gates, dict)
    denied = document.get("denied_actors") or []
    assert isinstance(denied, list)
    base = Flag(
        key=key,
        denied_actors=tuple(str(a) for a in denied),
        eligibility=_opt_str(document.get("eligibility")),
        description=str(document.get("description") or ""),
        actor_type=_opt_str(document.get("actor_type")),
        bucket_key=_opt_str(document.get("bucket_key")),
    )
    return flag_from_gates(key, gates, base)


def segment_document(segment: Segment) -> dict[str, Json]:
    """A segment as JSON: its name, rules and description."""
    rules: list[Json] = list(segment.rules())
    return {"name": segment.name, "rules": rules, "description": segment.description}


def segment_from_document(document: Json) -> Segment:
    """Read back what `segment_document` wrote."""
    if not isinstance(document, dict) or not isinstance(document.get("rules"), list):
        raise StoreError("a stored segment document is damaged")
    rules = document["rules"]
    assert isinstance(rules, list)
    return Segment.from_rules(
        str(document["name"]),
        [str(r) for r in rules],
        str(document.get("description") or ""),
    )


def _opt_str(value: Json) -> str | None:
    return None if value is None else str(value)
