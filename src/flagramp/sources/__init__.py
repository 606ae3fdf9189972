"""flagramp.sources: where metrics come from.

One port, `MetricSource.read`, and one module per backend: `pushed` (events sent
to flagramp), `prometheus` (PromQL range queries), `datadog` (metrics query API).
"""

from flagramp.sources.base import (
    VARIANT_LABEL,
    ExternalQuery,
    FakeSource,
    MetricQuery,
    MetricSource,
    MissingVariantLabel,
    Point,
    Reading,
    SourceMalformed,
    SourceRateLimited,
    SourceRejected,
    SourceUnavailable,
    UnknownMetric,
)
from flagramp.sources.datadog import DatadogSource
from flagramp.sources.prometheus import PrometheusSource
from flagramp.sources.pushed import IngestTarget, PushedSource, PushResult

__all__ = [
    "VARIANT_LABEL",
    "DatadogSource",
    "ExternalQuery",
    "FakeSource",
    "IngestTarget",
    "MetricQuery",
    "MetricSource",
    "MissingVariantLabel",
    "Point",
    "PrometheusSource",
    "PushResult",
    "PushedSource",
    "Reading",
    "SourceMalformed",
    "SourceRateLimited",
    "SourceRejected",
    "SourceUnavailable",
    "UnknownMetric",
]
