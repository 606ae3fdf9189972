"""The JSON documents the API answers with, as pydantic models for OpenAPI.

Flags and segments are the store's documents (`store.documents`), the same the
stream and the snapshot carry; models allow extra fields, since the engine may
add some (clients ignore what they do not know).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict


class FlagDocument(BaseModel):
    """A flag: Flipper's gate values plus flagramp's rules."""

    model_config = ConfigDict(extra="allow")

    key: str
    gates: dict[str, Any]
    denied_actors: list[str]
    eligibility: str | None
    description: str
    actor_type: str | None
    bucket_key: str | None = None
    """The key actors are bucketed on when the flag shares its users with flags
    launched with it; null: its own key (Flipper's rule)."""


class FlagView(FlagDocument):
    """A flag with its state in words (`on`, `off`, `conditional`)."""

    state: str


class SegmentDocument(BaseModel):
    """A segment: a name and rules that must all hold."""

    model_config = ConfigDict(extra="allow")

    name: str
    rules: list[str]
    description: str


class Snapshot(BaseModel):
    """An environment's flags and segments at one store version."""

    environment: str
    version: int
    flags: list[FlagDocument]
    segments: list[SegmentDocument]


class Version(BaseModel):
    """The store version after a write (every write that changed something is
    one version)."""

    version: int
