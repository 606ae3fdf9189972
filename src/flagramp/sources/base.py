"""The `MetricSource` port: one method, `read`, from a query to per-variant totals.

A source answers "for this plan metric, between `start` and `end`, per step: the
numerator and denominator totals of each variant". The pushed source also hands
back its windows (per-user buckets, sketches); external sources (Prometheus,
Datadog) have totals only, so `per_user` is False and the decision uses the
per-request variance inflated by an overdispersion factor
(`stats.overdispersion`).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from flagramp.core.errors import SourceError
from flagramp.stats.windows import Window

#: The label external queries must keep so that variants can be compared.
VARIANT_LABEL = "variant"


class SourceUnavailable(SourceError):
    """The backend could not be reached or timed out."""

    code = "source_unavailable"

    def __init__(self, source: str, detail: str) -> None:
        self.source, self.detail = source, detail
        super().__init__(f"{source} is unavailable: {detail}")


class SourceRejected(SourceError):
    """The backend refused the request (credentials, bad query)."""

    code = "source_rejected"

    def __init__(self, source: str, status: int, detail: str) -> None:
        self.source, self.status, self.detail = source, status, detail
        super().__init__(f"{source} refused the query (HTTP {status}): {detail}")


class SourceRateLimited(SourceError):
    """The backend kept answering 429 after the allowed retries."""

    code = "source_rate_limited"

    def __init__(self, source: str, attempts: int) -> None:
        self.source, self.attempts = source, attempts
        super().__init__(f"{source} rate-limited the query {attempts} times; giving up")


class SourceMalformed(SourceError):
    """The backend answered something that is not what its API documents."""

    code = "source_malformed"

    def __init__(self, source: str, detail: str) -> None:
        self.source, self.detail = source, detail
        super().__init__(f"{source} answered something unusable: {detail}")


class MissingVariantLabel(SourceError):
    """A series came back without a `variant` label: variants cannot be told apart."""

    code = "missing_variant_label"

    def __init__(self, source: str, query: str, hint: str) -> None:
        self.source, self.query, self.hint = source, query, hint
        super().__init__(
            f"{source} query {query!r} returned a series without a "
            f"`{VARIANT_LABEL}` label; {hint}"
        )


class UnknownMetric(SourceError):
    """The source has no query for this plan metric."""

    code = "unknown_metric"

    def __init__(self, source: str, metric: str) -> None:
        self.source, self.metric = source, metric
        super().__init__(f"{source} has no query for metric {metric!r}")


@dataclass(frozen=True, slots=True)
class ExternalQuery:
    """A plan metric in a backend's query language, grouped by `variant`.

    `denominator` is None for counts; a ratio's rate is numerator/denominator.
    """

    numerator: str
    denominator: str | None = None


@dataclass(frozen=True, slots=True)
class MetricQuery:
    """A plan metric over [start, end), one point per `step`.

    `external`: the plan's own query for the metric (its `source.query` and
    `denominator_query`); an external source uses it rather than a query it
    was built with, so one source configured from the environment serves
    every plan.
    """

    metric: str
    start: dt.datetime
    end: dt.datetime
    step: dt.timedelta = dt.timedelta(minutes=1)
    external: ExternalQuery | None = None


@dataclass(frozen=True, slots=True)
class Point:
    """One step of one variant: the totals in the step that ends at `at`.

    `denominator` is 0 for metrics without one (counts).
    """

    at: dt.datetime
    variant: str
    numerator: float
    denominator: float


@dataclass(frozen=True, slots=True)
class Reading:
    """What a source returned for a query."""

    source: str
    metric: str
    points: tuple[Point, ...]
    per_user: bool
    windows: tuple[Window, ...] = ()

    @property
    def variants(self) -> tuple[str, ...]:
        """The variants present, sorted."""
        return tuple(sorted({p.variant for p in self.points}))

    def totals(self, variant: str) -> tuple[float, float]:
        """Numerator and denominator summed over all steps of one variant."""
        num = math.fsum(p.numerator for p in self.points if p.variant == variant)
        den = math.fsum(p.denominator for p in self.points if p.variant == variant)
        return num, den

    def series(self, variant: str) -> tuple[Point, ...]:
        """One variant's points in time order."""
        return tuple(
            sorted((p for p in self.points if p.variant == variant), key=lambda p: p.at)
        )


class MetricSource(Protocol):
    """A backend that metrics are read from."""

    def read(self, query: MetricQuery) -> Reading:
        """The per-variant totals for `query`; raises SourceError."""
        ...


class FakeSource:
    """A source that answers with `handler(query)`: for tests and the simulator."""

    def __init__(self, handler: Callable[[MetricQuery], Reading]) -> None:
        self._handler = handler

    def read(self, query: MetricQuery) -> Reading:
        """Whatever the handler returns (or raises)."""
        return self._handler(query)


#: External samples: (timestamp in seconds, variant) -> value.
Samples = dict[tuple[float, str], float]


def reading_from_samples(
    source: str, metric: str, numerators: Samples, denominators: Samples | None
) -> Reading:
    """Join numerator and denominator samples into a reading without per-user data.

    Steps follow the denominator (the numerator for counts). Rationale: backends
    omit series with no data, so a variant without failures has no numerator
    series at all; its steps count as zero failures.
    """
    keys = sorted(numerators if denominators is None else denominators)
    points = tuple(
        Point(
            dt.datetime.fromtimestamp(at, dt.UTC),
            variant,
            numerators.get((at, variant), 0.0),
            0.0 if denominators is None else denominators[(at, variant)],
        )
        for at, variant in keys
    )
    return Reading(source, metric, points, per_user=False)
