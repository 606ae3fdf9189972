"""The wire's documents as values: snapshots, change events, flags and segments.

Shapes are those of the server's snapshot and stream (docs/sdk.md, "Wire"): a
snapshot is `{"environment", "version", "flags": [...], "segments": [...]}`, a
change event `{"version", "changes": [{"kind", "key", "action", "after"}]}`.
Unknown fields are ignored, for servers newer than this client.

A document that cannot be read is not fatal to its neighbours: one bad flag in a
snapshot is reported in `problems` and the rest is kept, so that the client can
go on serving its last good copy of that one flag (fail-static).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TypeVar

from flagramp.core.errors import FlagError, InvalidSnapshot
from flagramp.core.flags import Flag, Segment, flag_from_gates, parse_export
from flagramp.core.types import Json

FLAG = "flag"
SEGMENT = "segment"
_T = TypeVar("_T", Flag, Segment)


@dataclass(frozen=True, slots=True)
class Problem:
    """A flag or segment document that could not be read, and why."""

    kind: str
    key: str | None
    detail: str

    def __str__(self) -> str:
        name = "(no key)" if self.key is None else repr(self.key)[:80]
        return f"{self.kind} {name}: {self.detail}"


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Every flag and segment of one environment at one store version.

    `documents` keeps the raw flag and segment documents (by kind, then key) so
    that the cache writes back exactly what the server sent.
    """

    environment: str
    version: int
    flags: Mapping[str, Flag]
    segments: Mapping[str, Segment]
    documents: Mapping[str, Mapping[str, Mapping[str, Json]]]
    problems: tuple[Problem, ...] = ()

    def to_document(self) -> dict[str, Json]:
        """The snapshot in the server's own shape."""
        return {
            "environment": self.environment,
            "version": self.version,
            "flags": [dict(d) for d in self.documents[FLAG].values()],
            "segments": [dict(d) for d in self.documents[SEGMENT].values()],
        }


@dataclass(frozen=True, slots=True)
class Change:
    """One flag or segment changed: `after` is its new document, None if deleted."""

    kind: str
    key: str
    after: Mapping[str, Json] | None


@dataclass(frozen=True, slots=True)
class ChangeSet:
    """All changes of one store version in the client's environment, in order."""

    version: int
    changes: tuple[Change, ...] = field(default_factory=tuple)


def parse_snapshot(document: object, source: str) -> Snapshot:
    """Read a snapshot; raises InvalidSnapshot when its frame is unusable.

    A Flipper export (`{"version": 1, "features": {...}}`) is also accepted, as a
    bootstrap file for apps moving from Flipper: its flags get version 0.
    """
    if isinstance(document, dict) and "features" in document:
        return _from_flipper_export(document, source)
    if not isinstance(document, dict):
        raise InvalidSnapshot(source, "a snapshot must be a JSON object")
    environment = document.get("environment")
    if not isinstance(environment, str) or not environment:
        raise InvalidSnapshot(source, "`environment` must be a non-empty string")
    version = _version(document.get("version"), source)
    flags, segments = document.get("flags"), document.get("segments", [])
    if not isinstance(flags, list) or not isinstance(segments, list):
        raise InvalidSnapshot(source, "`flags` and `segments` must be arrays")
    problems: list[Problem] = []
    parsed_segments, segment_docs = _read_all(segments, SEGMENT, _segment, problems)
    parsed_flags, flag_docs = _read_all(flags, FLAG, _flag, problems)
    return Snapshot(
        environment=environment,
        version=version,
        flags=parsed_flags,
        segments=parsed_segments,
        documents={FLAG: flag_docs, SEGMENT: segment_docs},
        problems=tuple(problems),
    )


def parse_change_set(document: object, source: str) -> ChangeSet:
    """Read a stream `change` event; raises InvalidSnapshot when it is unusable."""
    if not isinstance(document, dict):
        raise InvalidSnapshot(source, "a change event must be a JSON object")
    version = _version(document.get("version"), source)
    raw = document.get("changes")
    if not isinstance(raw, list):
        raise InvalidSnapshot(source, "`changes` must be an array")
    changes: list[Change] = []
    for item in raw:
        if not isinstance(item, dict):
            raise InvalidSnapshot(source, "each change must be an object")
        kind, key, after = item.get("kind"), item.get("key"), item.get("after")
        if kind not in (FLAG, SEGMENT) or not isinstance(key, str):
            continue  # a kind this client does not know (a newer server)
        if after is not None and not isinstance(after, dict):
            raise InvalidSnapshot(source, f"change of {key!r}: `after` is no object")
        changes.append(Change(kind, key, after))
    return ChangeSet(version, tuple(changes))


def read_flag(document: Mapping[str, Json]) -> Flag:
    """A flag document (the store's `flag_document`) as a Flag; raises ValueError."""
    key, gates = document.get("key"), document.get("gates")
    if not isinstance(key, str) or not isinstance(gates, dict):
        raise ValueError("a flag needs a string `key` and an object `gates`")
    denied = document.get("denied_actors") or []
    if not isinstance(denied, list):
        raise ValueError(f"flag {key!r}: `denied_actors` must be an array")
    base = Flag(
        key=key,
        denied_actors=tuple(str(a) for a in denied),
        eligibility=_optional_text(document.get("eligibility")),
        description=str(document.get("description") or ""),
        actor_type=_optional_text(document.get("actor_type")),
        bucket_key=_optional_text(document.get("bucket_key")),
    )
    try:
        return flag_from_gates(key, gates, base)
    except FlagError as exc:
        raise ValueError(str(exc)) from exc


def read_segment(document: Mapping[str, Json]) -> Segment:
    """A segment document (`{"name", "rules", "description"}`); raises ValueError."""
    name, rules = document.get("name"), document.get("rules")
    if not isinstance(name, str) or not isinstance(rules, list):
        raise ValueError("a segment needs a string `name` and an array `rules`")
    try:
        return Segment.from_rules(
            name, [str(r) for r in rules], str(document.get("description") or "")
        )
    except FlagError as exc:
        raise ValueError(str(exc)) from exc


def _flag(document: Mapping[str, Json]) -> tuple[str, Flag]:
    flag = read_flag(document)
    return flag.key, flag


def _segment(document: Mapping[str, Json]) -> tuple[str, Segment]:
    segment = read_segment(document)
    return segment.name, segment


def _read_all(
    documents: list[Json],
    kind: str,
    read: Callable[[Mapping[str, Json]], tuple[str, _T]],
    problems: list[Problem],
) -> tuple[dict[str, _T], dict[str, Mapping[str, Json]]]:
    parsed: dict[str, _T] = {}
    kept: dict[str, Mapping[str, Json]] = {}
    for document in documents:
        if not isinstance(document, dict):
            problems.append(Problem(kind, None, "not a JSON object"))
            continue
        try:
            key, value = read(document)
        except ValueError as exc:
            problems.append(Problem(kind, _key_of(document), str(exc)))
            continue
        parsed[key] = value
        kept[key] = document
    return parsed, kept


def _from_flipper_export(document: dict[str, Json], source: str) -> Snapshot:
    try:
        features = parse_export(document, source)
    except FlagError as exc:
        raise InvalidSnapshot(source, str(exc)) from exc
    flags: dict[str, Flag] = {}
    docs: dict[str, Mapping[str, Json]] = {}
    problems: list[Problem] = []
    for key, gates in features.items():
        try:
            flags[key] = flag_from_gates(key, gates)
        except FlagError as exc:
            problems.append(Problem(FLAG, key, str(exc)))
            continue
        docs[key] = {"key": key, "gates": dict(gates)}
    environment = document.get("environment")
    return Snapshot(
        environment=environment if isinstance(environment, str) else "",
        version=0,
        flags=flags,
        segments={},
        documents={FLAG: docs, SEGMENT: {}},
        problems=tuple(problems),
    )


def _version(value: object, source: str) -> int:
    if type(value) is not int or value < 0:
        raise InvalidSnapshot(source, "`version` must be an integer >= 0")
    return value


def _optional_text(value: Json) -> str | None:
    return None if value is None else str(value)


def _key_of(document: Mapping[str, Json]) -> str | None:
    name = document.get("key", document.get("name"))
    return name if isinstance(name, str) else None
