"""What the server counts, in Prometheus' text format at `/metrics`.

One registry per app (several apps in one process, as in the tests, never
share counters). Run states and decisions are the engine's to add: it
registers its collectors on `ServerMetrics.registry`.
"""

from __future__ import annotations

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

#: The media type of Prometheus' text exposition format.
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class ServerMetrics:
    """The server's counters, gauges and histograms."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter(
            "flagramp_http_requests",
            "HTTP requests answered, by route template and status",
            ["method", "route", "status"],
            registry=r,
        )
        self.request_seconds = Histogram(
            "flagramp_http_request_duration_seconds",
            "Time to answer an HTTP request (streams: until the answer starts)",
            ["method", "route"],
            registry=r,
        )
        self.stream_clients = Gauge(
            "flagramp_stream_clients",
            "Open SSE streams, by environment",
            ["environment"],
            registry=r,
        )
        self.stream_send_timeouts = Counter(
            "flagramp_stream_send_timeouts",
            "SSE streams ended because one send to the client blocked longer "
            "than the send timeout, by stream (flags, guards)",
            ["stream"],
            registry=r,
        )
        self.stream_events = Counter(
            "flagramp_stream_events",
            "SSE events sent, by kind (snapshot, change)",
            ["kind"],
            registry=r,
        )
        self.snapshots = Counter(
            "flagramp_snapshots_served",
            "Environment snapshots served, by answer (full, not_modified)",
            ["answer"],
            registry=r,
        )
        self.evaluations = Counter(
            "flagramp_evaluations",
            "Flag evaluations the server itself made (the evaluate endpoint)",
            ["environment"],
            registry=r,
        )
        self.events = Counter(
            "flagramp_events",
            "Events received on /api/v1/events, by outcome",
            ["outcome"],
            registry=r,
        )
        self.alerts = Counter(
            "flagramp_alerts",
            "Inbound alerts received, by source and status",
            ["source", "status"],
            registry=r,
        )
        self.auth_failures = Counter(
            "flagramp_auth_failures",
            "Requests refused for their token, by reason",
            ["reason"],
            registry=r,
        )

    def render(self) -> bytes:
        """Every metric in the text exposition format."""
        return generate_latest(self.registry)
