"""Events an application reports: exposures, request outcomes, business events.

These are the raw material of every metric. They arrive in batches (SDK, HTTP push,
the simulator); each batch carries an idempotency key so that a batch delivered twice
counts once. Events are values: frozen, slotted, cheap to build in bulk.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from flagramp.core.types import PropertyValue


class Variant(StrEnum):
    """Which side of a flag an actor saw."""

    ON = "on"
    OFF = "off"


class DeviceClass(StrEnum):
    """Coarse device class, for metric filters such as seed 002's mobile/desktop."""

    DESKTOP = "desktop"
    MOBILE = "mobile"
    TABLET = "tablet"
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class Exposure:
    """An actor was evaluated for a flag and saw `variant`.

    `allow_listed` marks actors who got the flag from an allow list (UAT): they were
    not randomised and never enter a comparison or the sample-ratio check.
    """

    at: dt.datetime
    actor: str
    flag: str
    variant: Variant
    environment: str = "production"
    allow_listed: bool = False


@dataclass(frozen=True, slots=True)
class RequestOutcome:
    """One request the application served, as its middleware saw it.

    `error` is a fingerprint such as `Oracle::TimeoutError /appointments`; None when
    the request did not fail.
    """

    at: dt.datetime
    actor: str
    route: str
    status: int
    latency_ms: float
    device: DeviceClass = DeviceClass.OTHER
    error: str | None = None

    @property
    def status_class(self) -> str:
        """`2xx`, `4xx`, `5xx`…"""
        return f"{self.status // 100}xx"


@dataclass(frozen=True, slots=True)
class BusinessEvent:
    """A named product event with an optional value: abandon, csat (value 1–5)…"""

    at: dt.datetime
    actor: str
    name: str
    value: float | None = None
    route: str | None = None
    device: DeviceClass = DeviceClass.OTHER
    attributes: tuple[tuple[str, PropertyValue], ...] = ()


Event = Exposure | RequestOutcome | BusinessEvent


@dataclass(frozen=True, slots=True)
class EventBatch:
    """Events delivered together; `key` makes redelivery idempotent."""

    key: str
    events: tuple[Event, ...]


@dataclass(frozen=True, slots=True)
class RejectedEvent:
    """An event that was not accepted, with where it stood in its batch and why."""

    index: int
    reason: str
