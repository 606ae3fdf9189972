"""Prometheus: PromQL range queries over its HTTP API (`/api/v1/query_range`).

Each plan metric maps to one or two PromQL expressions that keep a `variant`
label, for instance an error rate over one-minute steps::

    ExternalQuery(
        numerator='sum by (variant) (increase(http_requests_total{status=~"5.."}[1m]))',
        denominator="sum by (variant) (increase(http_requests_total[1m]))",
    )

with the query's step equal to the range in brackets, so each point is the total
of its step. Prometheus gives totals, not users: readings have `per_user` False.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import httpx

from flagramp.sources._http import get_json, number, require_list, require_mapping
from flagramp.sources.base import (
    VARIANT_LABEL,
    ExternalQuery,
    MetricQuery,
    MissingVariantLabel,
    Reading,
    Samples,
    SourceMalformed,
    SourceRejected,
    UnknownMetric,
    reading_from_samples,
)

_HINT = "aggregate with `sum by (variant) (...)` and keep the label on the series"


class PrometheusSource:
    """Reads plan metrics from a Prometheus server."""

    name = "prometheus"

    def __init__(
        self,
        base_url: str,
        queries: Mapping[str, ExternalQuery] | None = None,
        *,
        client: httpx.Client | None = None,
        timeout: float = 10.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.queries = dict(queries or {})
        self._client = client or httpx.Client(timeout=timeout)

    def read(self, query: MetricQuery) -> Reading:
        """One point per step and variant; raises SourceError subclasses."""
        external = query.external or self.queries.get(query.metric)
        if external is None:
            raise UnknownMetric(self.name, query.metric)
        numerators = self._range(external.numerator, query)
        denominators = (
            self._range(external.denominator, query)
            if external.denominator is not None
            else None
        )
        return reading_from_samples(self.name, query.metric, numerators, denominators)

    def _range(self, promql: str, query: MetricQuery) -> Samples:
        params = {
            "query": promql,
            "start": f"{query.start.timestamp():.3f}",
            "end": f"{query.end.timestamp():.3f}",
            "step": f"{query.step.total_seconds():g}s",
        }
        url = f"{self.base_url}/api/v1/query_range"
        response, body = get_json(self._client, self.name, url, params)
        if response.status_code != 200 or not isinstance(body, dict):
            detail = body.get("error") if isinstance(body, dict) else None
            raise SourceRejected(
                self.name, response.status_code, str(detail or response.text[:200])
            )
        return self._samples(promql, body)

    def _samples(self, promql: str, body: dict[str, object]) -> Samples:
        if body.get("status") != "success":
            raise SourceMalformed(self.name, f"status {body.get('status')!r}")
        data = require_mapping(self.name, body.get("data"), "`data`")
        if data.get("resultType") != "matrix":
            raise SourceMalformed(
                self.name, f"expected a matrix, got {data.get('resultType')!r}"
            )
        samples: Samples = {}
        seen: set[str] = set()
        for raw in require_list(self.name, data.get("result"), "`data.result`"):
            series = require_mapping(self.name, raw, "a series")
            labels = require_mapping(self.name, series.get("metric"), "series labels")
            variant = labels.get(VARIANT_LABEL)
            if not isinstance(variant, str):
                raise MissingVariantLabel(self.name, promql, _HINT)
            if variant in seen:
                raise SourceMalformed(
                    self.name, f"several series for variant {variant!r}; {_HINT}"
                )
            seen.add(variant)
            for pair in require_list(self.name, series.get("values"), "series values"):
                sample = require_list(self.name, pair, "a sample")
                if len(sample) != 2:
                    raise SourceMalformed(self.name, f"a sample is {sample!r}")
                at, value = sample
                v = number(self.name, value, "a sample value")
                if math.isfinite(v):
                    samples[(number(self.name, at, "a timestamp"), variant)] = v
        return samples
