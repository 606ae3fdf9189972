"""The external metric sources a controller reads, from environment variables.

Where Prometheus and Datadog are, and the keys to read them, are the operator's,
never a plan's: a plan names a source kind and its queries, the environment says
where that kind lives.

- `FLAGRAMP_PROMETHEUS_URL`: the Prometheus server (`http://prometheus:9090`);
- `DD_API_KEY` and `DD_APP_KEY` (both), with `DD_SITE` (default
  `datadoghq.com`): Datadog's metrics query API.

A kind whose variables are not set is not configured: a plan metric that reads
it gets no data, and the run says "source ... not configured".
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from flagramp.sources.base import MetricSource
from flagramp.sources.datadog import DatadogSource
from flagramp.sources.prometheus import PrometheusSource

PROMETHEUS_URL = "FLAGRAMP_PROMETHEUS_URL"
DATADOG_API_KEY = "DD_API_KEY"
DATADOG_APP_KEY = "DD_APP_KEY"
DATADOG_SITE = "DD_SITE"

#: Source kind -> the variables that configure it (for "not configured" texts).
REQUIRED: dict[str, tuple[str, ...]] = {
    "prometheus": (PROMETHEUS_URL,),
    "datadog": (DATADOG_API_KEY, DATADOG_APP_KEY),
}


def sources_from_env(
    environ: Mapping[str, str] | None = None, *, timeout: float = 10.0
) -> dict[str, MetricSource]:
    """Source kind (`prometheus`, `datadog`) -> its source, for the kinds the
    environment configures (empty values count as unset)."""
    env = os.environ if environ is None else environ
    found: dict[str, MetricSource] = {}
    url = env.get(PROMETHEUS_URL, "").strip()
    if url:
        found["prometheus"] = PrometheusSource(url, timeout=timeout)
    api_key = env.get(DATADOG_API_KEY, "").strip()
    app_key = env.get(DATADOG_APP_KEY, "").strip()
    if api_key and app_key:
        found["datadog"] = DatadogSource(
            api_key=api_key,
            application_key=app_key,
            site=env.get(DATADOG_SITE, "").strip() or "datadoghq.com",
            timeout=timeout,
        )
    return found


def not_configured(kind: str) -> str:
    """What the run says of a plan's source kind that is not configured."""
    names = " and ".join(REQUIRED.get(kind, ()))
    return f"not configured (set {names})" if names else "not configured"


__all__ = [
    "DATADOG_API_KEY",
    "DATADOG_APP_KEY",
    "DATADOG_SITE",
    "PROMETHEUS_URL",
    "not_configured",
    "sources_from_env",
]
