"""Prometheus source against a real `prometheus` server scraping a test endpoint.

The test serves counters labelled by variant with prometheus-client on a loopback
port, starts Debian's `prometheus` on another with a temporary config and TSDB,
waits until samples arrive, then reads them back through PromQL range queries.
Skips when the binary is absent (fails instead under FLAGRAMP_REQUIRE_SERVICES=1).
"""

from __future__ import annotations

import datetime as dt
import itertools
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from prometheus_client import CollectorRegistry, Counter, start_http_server

from flagramp.sources import (
    ExternalQuery,
    MetricQuery,
    MissingVariantLabel,
    PrometheusSource,
    SourceRejected,
    SourceUnavailable,
)
from tests.services import require_binary

#: Generous: a cold start on a loaded 2-core machine takes a few seconds.
STARTUP_TIMEOUT = 60.0
EXPECTED = {"on": (10.0, 200.0), "off": (4.0, 400.0)}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class Server:
    url: str
    log: Path


def wait_for(
    what: str, check: object, log: Path, timeout: float = STARTUP_TIMEOUT
) -> None:
    assert callable(check)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
    pytest.fail(f"prometheus: {what} not within {timeout:.0f}s; log:\n{tail}")


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    binary = require_binary("prometheus")
    tmp = tmp_path_factory.mktemp("prometheus")
    registry = CollectorRegistry()
    requests = Counter("app_requests", "Requests", ["variant"], registry=registry)
    errors = Counter(
        "app_request_errors", "Failed requests", ["variant"], registry=registry
    )
    for variant, (failed, total) in EXPECTED.items():
        errors.labels(variant=variant).inc(failed)
        requests.labels(variant=variant).inc(total)
    target = free_port()
    exporter, thread = start_http_server(target, addr="127.0.0.1", registry=registry)
    port = free_port()
    config = tmp / "prometheus.yml"
    config.write_text(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
        "scrape_configs:\n  - job_name: app\n    static_configs:\n"
        f"      - targets: ['127.0.0.1:{target}']\n"
    )
    log = tmp / "prometheus.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                binary,
                f"--config.file={config}",
                f"--storage.tsdb.path={tmp / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
                "--log.level=warn",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(timeout=2.0) as client:
            wait_for(
                "ready", lambda: client.get(f"{url}/-/ready").status_code == 200, log
            )

            def scraped_enough() -> bool:
                answer = client.get(
                    f"{url}/api/v1/query",
                    params={"query": "count_over_time(app_requests_total[1m])"},
                ).json()
                result = answer["data"]["result"]
                return len(result) == 2 and all(
                    float(r["value"][1]) >= 4 for r in result
                )

            wait_for("four scrapes of both variants", scraped_enough, log)
        yield Server(url, log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        exporter.shutdown()
        thread.join(timeout=5)


def recent(seconds: int = 3) -> MetricQuery:
    end = dt.datetime.now(dt.UTC).replace(microsecond=0)
    return MetricQuery(
        "error_rate", end - dt.timedelta(seconds=seconds), end, dt.timedelta(seconds=1)
    )


def test_range_queries_return_the_served_totals_per_variant(prometheus: Server) -> None:
    src = PrometheusSource(
        prometheus.url,
        {
            "error_rate": ExternalQuery(
                "sum by (variant) (app_request_errors_total)",
                "sum by (variant) (app_requests_total)",
            )
        },
    )
    reading = src.read(recent())
    assert not reading.per_user
    assert reading.variants == ("off", "on")
    for variant, expected in EXPECTED.items():
        points = reading.series(variant)
        assert len(points) >= 3
        assert all((p.numerator, p.denominator) == expected for p in points)
        steps = {b.at - a.at for a, b in itertools.pairwise(points)}
        assert steps == {dt.timedelta(seconds=1)}


def test_a_query_without_the_variant_label_is_refused(prometheus: Server) -> None:
    src = PrometheusSource(
        prometheus.url, {"error_rate": ExternalQuery("sum(app_requests_total)")}
    )
    with pytest.raises(MissingVariantLabel, match="sum by \\(variant\\)"):
        src.read(recent())


def test_bad_promql_is_a_rejection_with_prometheus_message(prometheus: Server) -> None:
    src = PrometheusSource(prometheus.url, {"error_rate": ExternalQuery("sum by (")})
    with pytest.raises(SourceRejected, match=r"HTTP 400.*parse error"):
        src.read(recent())


def test_an_unreachable_server_is_unavailable() -> None:
    src = PrometheusSource(
        f"http://127.0.0.1:{free_port()}",
        {"error_rate": ExternalQuery("up")},
        timeout=2.0,
    )
    with pytest.raises(SourceUnavailable, match="prometheus is unavailable"):
        src.read(recent())
