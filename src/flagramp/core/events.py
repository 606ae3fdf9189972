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

#: Appended to a request's name for the event a failed request also counts as.
FAILED_SUFFIX = "_failed"

#: Largest magnitude of an event's value or numeric attribute. Rationale: window
#: sums of values quantised to 1/1024 stay exact below 2^43, and a mean never
#: overflows to inf (1e308 would).
MAX_VALUE = 1e9
#: Longest request latency accepted: one day, in milliseconds.
MAX_LATENCY_MS = 86_400_000.0
#: Event times must fall in [EARLIEST, LATEST): anything else is a sender's bug, and
#: times near the calendar's edges cannot even be moved to UTC.
EARLIEST = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
LATEST = dt.datetime(2200, 1, 1, tzinfo=dt.UTC)
#: The fingerprint a window counts the fingerprints beyond its cap under. Parsing
#: refuses it as an event's `error`, so it never names a real error.
OTHER_FINGERPRINTS = "(other fingerprints)"


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
    the request did not fail. `name` is the event name plan metrics count it under
    (`sm_request`); a failed request also counts as `<name>_failed` (see
    `failed_name`), so a plan's error rate is `ratio(sm_request_failed, sm_request)`.
    """

    at: dt.datetime
    actor: str
    route: str
    status: int
    latency_ms: float
    device: DeviceClass = DeviceClass.OTHER
    error: str | None = None
    name: str = "request"

    @property
    def status_class(self) -> str:
        """`2xx`, `4xx`, `5xx`…"""
        return f"{self.status // 100}xx"

    @property
    def is_failed(self) -> bool:
        """Whether the request failed: a server error (5xx) or an error fingerprint.

        Rationale: 4xx without a fingerprint are the client's doing (a missing
        appointment, a bad form) and would make the error rate track user behaviour.
        """
        return self.status >= 500 or self.error is not None

    @property
    def failed_name(self) -> str:
        """The event name a failed request also counts under: `<name>_failed`."""
        return f"{self.name}{FAILED_SUFFIX}"


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
    """An event that was not accepted, with where it stood in its batch and why.

    `code` is stable (`bad_status`, `missing_actor`…) for counters; `reason` is
    the sentence people read.
    """

    index: int
    reason: str
    code: str = "invalid"
