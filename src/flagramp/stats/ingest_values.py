"""The values ingest takes and returns: metric specs, counts, a batch's result."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from flagramp.core.metric_kinds import MetricKind
from flagramp.stats.scope_state import ActorState, MarkLayout
from flagramp.stats.windows import Window

#: Kinds whose numerator counts actors the first time in the scope (per-actor marks).
FIRST_TIME_KINDS = frozenset({MetricKind.SHARE_OF_USERS, MetricKind.UNIQUE_ACTORS})
#: Kinds that sum a value.
VALUE_KINDS = frozenset({MetricKind.MEAN, MetricKind.QUANTILE})


@dataclass(frozen=True, slots=True)
class MetricSpec:
    """What ingest computes for one plan metric.

    `events` is (numerator, denominator) for a ratio, (event,) otherwise;
    `threshold` is a share_above metric's bound on the value.
    """

    name: str
    kind: MetricKind
    events: tuple[str, ...]
    value: str | None = None
    where: tuple[str, ...] = ()
    threshold: float | None = None


@dataclass(frozen=True, slots=True)
class IngestCounts:
    """What one batch did: events used, outcomes with no exposure, refusals.

    `out_of_window`: events timed outside the window around the receiver's clock;
    `invalid`: events with a value parsing would refuse (non-finite, out of range).
    """

    exposures: int = 0
    outcomes: int = 0
    unattributed: int = 0
    other_flags: int = 0
    duplicate_batch: bool = False
    out_of_window: int = 0
    invalid: int = 0


@dataclass(frozen=True, slots=True)
class BatchResult:
    """A batch's contribution: its windows, the actor states it changed, counts.

    `marks` is the layout the states use (the given one, grown by this ingest's
    first-time metrics). `forget_after` (epoch seconds) is when a redelivery of the
    batch can no longer count anything, every event being too old by then: its key
    may be dropped after that. Infinite without a receiver's clock.
    """

    windows: tuple[Window, ...]
    actors: Mapping[int, ActorState]
    marks: MarkLayout
    counts: IngestCounts
    forget_after: float
