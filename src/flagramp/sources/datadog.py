"""Datadog: the metrics query API v1 (`GET /api/v1/query`).

Each plan metric maps to Datadog queries grouped by a `variant` tag, one point per
minute, as counts::

    ExternalQuery(
        numerator="sum:trace.rack.request.errors{service:vets-api} by {variant}"
        ".as_count().rollup(sum, 60)",
        denominator="sum:trace.rack.request.hits{service:vets-api} by {variant}"
        ".as_count().rollup(sum, 60)",
    )

Datadog gives totals, not users: readings have `per_user` False. A 429 is retried
after `X-RateLimit-Reset` seconds (capped), a few times; 403 and other refusals
raise `SourceRejected` with Datadog's own error text.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping

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
    SourceRateLimited,
    SourceRejected,
    UnknownMetric,
    reading_from_samples,
)

_HINT = "group the query `by {variant}` so each series has a variant tag"
#: Longest wait for a rate limit to reset before retrying, in seconds.
MAX_RETRY_WAIT = 60.0


class DatadogSource:
    """Reads plan metrics from Datadog's metrics query API."""

    name = "datadog"

    def __init__(
        self,
        queries: Mapping[str, ExternalQuery] | None = None,
        *,
        api_key: str,
        application_key: str,
        site: str = "datadoghq.com",
        client: httpx.Client | None = None,
        timeout: float = 10.0,
        retries: int = 3,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.queries = dict(queries or {})
        self.url = f"https://api.{site}/api/v1/query"
        self._headers = {"DD-API-KEY": api_key, "DD-APPLICATION-KEY": application_key}
        self._client = client or httpx.Client(timeout=timeout)
        self._retries = retries
        self._sleep = sleep

    def read(self, query: MetricQuery) -> Reading:
        """One point per Datadog interval and variant; raises SourceError."""
        external = query.external or self.queries.get(query.metric)
        if external is None:
            raise UnknownMetric(self.name, query.metric)
        numerators = self._query(external.numerator, query)
        denominators = (
            None
            if external.denominator is None
            else self._query(external.denominator, query)
        )
        return reading_from_samples(self.name, query.metric, numerators, denominators)

    def _query(self, text: str, query: MetricQuery) -> Samples:
        params = {
            "from": str(int(query.start.timestamp())),
            "to": str(int(query.end.timestamp())),
            "query": text,
        }
        for attempt in range(1, self._retries + 2):
            response, body = get_json(
                self._client, self.name, self.url, params, self._headers
            )
            if response.status_code == 429:
                if attempt > self._retries:
                    raise SourceRateLimited(self.name, attempt)
                self._sleep(_retry_wait(response))
                continue
            if response.status_code != 200:
                raise SourceRejected(self.name, response.status_code, _errors(body))
            return self._samples(text, body)
        raise AssertionError("unreachable")  # pragma: no cover

    def _samples(self, text: str, body: object) -> Samples:
        data = require_mapping(self.name, body, "the response")
        if data.get("status") == "error":
            raise SourceRejected(self.name, 200, str(data.get("error", "error")))
        if data.get("status") != "ok":
            raise SourceMalformed(self.name, f"status {data.get('status')!r}")
        samples: Samples = {}
        for raw in require_list(self.name, data.get("series"), "`series`"):
            series = require_mapping(self.name, raw, "a series")
            variant = _variant(series)
            if variant is None:
                raise MissingVariantLabel(self.name, text, _HINT)
            for pair in require_list(self.name, series.get("pointlist"), "pointlist"):
                point = require_list(self.name, pair, "a point")
                if len(point) != 2:
                    raise SourceMalformed(self.name, f"a point is {point!r}")
                at_ms, value = point
                if value is None:
                    continue
                v = number(self.name, value, "a point value")
                if math.isfinite(v):
                    at = number(self.name, at_ms, "a timestamp") / 1000.0
                    samples[(at, variant)] = samples.get((at, variant), 0.0) + v
        return samples


def _variant(series: dict[str, object]) -> str | None:
    tags = series.get("tag_set")
    if isinstance(tags, list):
        for tag in tags:
            if isinstance(tag, str) and tag.startswith(f"{VARIANT_LABEL}:"):
                return tag.split(":", 1)[1]
    return None


def _errors(body: object) -> str:
    if isinstance(body, dict) and isinstance(body.get("errors"), list):
        return "; ".join(str(e) for e in body["errors"])
    return "no error text"


def _retry_wait(response: httpx.Response) -> float:
    try:
        wait = float(response.headers.get("X-RateLimit-Reset", "1"))
    except ValueError:
        wait = 1.0
    return min(max(wait, 0.0), MAX_RETRY_WAIT)
