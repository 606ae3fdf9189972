"""What the server hands on, as ports the engine implements.

The server parses and checks what arrives (event batches, alert webhooks) and
hands it to these Protocols. The engine routes events to its runs' ingest
scopes and turns alerts into incidents by the plans' alert mappings; until it
does, `event_sinks.ScopeSink` routes to the scopes registered with it and
`alert_sinks.AuditAlertSink` records alerts in the audit log.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from flagramp.core.alerts import Alert
from flagramp.core.events import EventBatch
from flagramp.store import Author


class Routing(Protocol):
    """What became of a batch: how many scopes took it, how many of its events
    no run watches, and whether every scope had seen it before."""

    @property
    def scopes(self) -> int: ...

    @property
    def unwatched(self) -> int: ...

    @property
    def duplicate(self) -> bool: ...


@dataclass(frozen=True, slots=True)
class RoutedBatch:
    """A `Routing` value."""

    scopes: int = 0
    unwatched: int = 0
    duplicate: bool = False


class EventSink(Protocol):
    """Takes parsed batches of one environment (each batch all or nothing)."""

    def accept(
        self, environment: str, batch: EventBatch, *, received_at: dt.datetime
    ) -> Routing: ...


@dataclass(frozen=True, slots=True)
class TakenBatch:
    """What became of a keyed batch: whether its environment exists, whether
    it counted nowhere (its key was known, or every scope had seen it), and
    how many of its events no run watches."""

    known_environment: bool = True
    duplicate: bool = False
    unwatched: int = 0


@dataclass(frozen=True, slots=True)
class KeyedBatch:
    """A parsed batch with its key, for `BatchIntake.take_many`."""

    environment: str
    batch: EventBatch
    received_at: dt.datetime
    #: When the batch's key may be forgotten.
    forget_after: dt.datetime


class BatchIntake(Protocol):
    """Takes a parsed batch with its key in one go: the environment check, the
    batch key (kept until `forget_after`) and the ingest, all or nothing."""

    def take(
        self,
        environment: str,
        batch: EventBatch,
        *,
        received_at: dt.datetime,
        forget_after: dt.datetime,
    ) -> TakenBatch: ...

    def take_many(self, batches: Sequence[KeyedBatch]) -> list[TakenBatch]:
        """`take` for each batch, in order; in one transaction where the
        intake can (then all or nothing)."""
        ...


class AlertHandling(Protocol):
    """What became of alerts: how many runs they concern."""

    @property
    def runs(self) -> int: ...


@dataclass(frozen=True, slots=True)
class HandledAlerts:
    """An `AlertHandling` value."""

    runs: int = 0


class AlertSink(Protocol):
    """Takes inbound alerts for one environment."""

    def raise_alerts(
        self,
        environment: str,
        alerts: Sequence[Alert],
        *,
        received_at: dt.datetime,
        author: Author,
    ) -> AlertHandling: ...
