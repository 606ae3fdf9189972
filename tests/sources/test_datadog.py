"""Datadog source against recorded API responses replayed through MockTransport."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import httpx
import pytest

from flagramp.core.errors import SourceError
from flagramp.sources import (
    DatadogSource,
    ExternalQuery,
    MetricQuery,
    MissingVariantLabel,
    SourceMalformed,
    SourceRateLimited,
    SourceRejected,
    SourceUnavailable,
    UnknownMetric,
)

RECORDINGS = Path(__file__).parent / "recordings"
START = dt.datetime(2026, 11, 23, 10, 0, tzinfo=dt.UTC)
QUERY = MetricQuery("error_rate", START, START + dt.timedelta(minutes=5))


def recording(name: str) -> dict[str, dict[str, object]]:
    data = json.loads((RECORDINGS / f"datadog_{name}.json").read_text())
    assert isinstance(data, dict)
    return data


def query_text(name: str) -> str:
    return str(recording(name)["request"]["query"])


def replay(*names: str) -> tuple[httpx.MockTransport, list[httpx.Request]]:
    """A transport answering each query with its recordings, in order."""
    queue: dict[str, list[dict[str, object]]] = {}
    for name in names:
        rec = recording(name)
        queue.setdefault(str(rec["request"]["query"]), []).append(rec["response"])
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        assert request.url.path == "/api/v1/query"
        assert request.headers["DD-API-KEY"] == "api-key"
        assert request.headers["DD-APPLICATION-KEY"] == "app-key"
        answer = queue[request.url.params["query"]].pop(0)
        headers = answer["headers"]
        assert isinstance(headers, dict)
        status = answer["status"]
        assert isinstance(status, int)
        if "json" in answer:
            return httpx.Response(status, headers=headers, json=answer["json"])
        return httpx.Response(status, headers=headers, text=str(answer["text"]))

    return httpx.MockTransport(handler), seen


def source(
    transport: httpx.BaseTransport,
    numerator: str,
    denominator: str | None,
    waits: list[float] | None = None,
) -> DatadogSource:
    return DatadogSource(
        {"error_rate": ExternalQuery(numerator, denominator)},
        api_key="api-key",
        application_key="app-key",
        client=httpx.Client(transport=transport),
        retries=2,
        sleep=(waits if waits is not None else []).append,
    )


def test_a_ratio_reads_per_variant_totals_from_two_queries() -> None:
    transport, seen = replay("errors_by_variant", "hits_by_variant")
    src = source(
        transport, query_text("errors_by_variant"), query_text("hits_by_variant")
    )
    reading = src.read(QUERY)
    assert not reading.per_user
    assert reading.variants == ("off", "on")
    # A null point and a missing `off` error series both count as zero errors.
    assert reading.totals("on") == (14.0, 500.0)
    assert reading.totals("off") == (0.0, 10_000.0)
    on = reading.series("on")
    assert [p.at for p in on][:2] == [START, START + dt.timedelta(minutes=1)]
    assert [p.numerator for p in on] == [3.0, 5.0, 0.0, 2.0, 4.0]
    assert seen[0].url.params["from"] == str(int(START.timestamp()))
    assert seen[0].url.params["to"] == str(int(QUERY.end.timestamp()))


def test_a_count_needs_no_denominator() -> None:
    transport, _ = replay("hits_by_variant")
    reading = source(transport, query_text("hits_by_variant"), None).read(QUERY)
    assert reading.totals("on") == (500.0, 0.0)


def test_a_series_without_a_variant_tag_is_refused_with_a_hint() -> None:
    transport, _ = replay("no_variant")
    src = source(transport, query_text("no_variant"), None)
    with pytest.raises(MissingVariantLabel, match="by \\{variant\\}"):
        src.read(QUERY)


def test_429_is_retried_after_the_reset_header_then_succeeds() -> None:
    transport, seen = replay("rate_limited", "hits_by_variant")
    waits: list[float] = []
    src = source(transport, query_text("hits_by_variant"), None, waits)
    assert src.read(QUERY).totals("off") == (10_000.0, 0.0)
    assert waits == [7.0]
    assert len(seen) == 2


def test_429_beyond_the_retries_raises_rate_limited() -> None:
    transport, seen = replay("rate_limited", "rate_limited", "rate_limited")
    waits: list[float] = []
    src = source(transport, query_text("hits_by_variant"), None, waits)
    with pytest.raises(SourceRateLimited, match="3 times"):
        src.read(QUERY)
    assert waits == [7.0, 7.0]
    assert len(seen) == 3


@pytest.mark.parametrize(
    ("name", "error", "message"),
    [
        ("forbidden", SourceRejected, r"HTTP 403\): Forbidden"),
        ("bad_query", SourceRejected, r"HTTP 400\): Error parsing query"),
        ("malformed", SourceMalformed, "not a JSON object"),
    ],
)
def test_errors_raise_source_errors_with_clear_messages(
    name: str, error: type[SourceError], message: str
) -> None:
    transport, _ = replay(name)
    src = source(transport, query_text(name), None)
    with pytest.raises(error, match=message) as caught:
        src.read(QUERY)
    assert isinstance(caught.value, SourceError)
    assert str(caught.value).startswith("datadog")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"status": "ok", "series": {}}, "`series` is not a JSON array"),
        (
            {
                "status": "ok",
                "series": [{"tag_set": ["variant:on"], "pointlist": [[1]]}],
            },
            "a point",
        ),
        (
            {
                "status": "ok",
                "series": [{"tag_set": ["variant:on"], "pointlist": [[1, "x"]]}],
            },
            "not a number",
        ),
        ({"status": "weird"}, "status 'weird'"),
    ],
)
def test_malformed_bodies_raise_source_malformed(
    body: dict[str, object], message: str
) -> None:
    transport = httpx.MockTransport(lambda _: httpx.Response(200, json=body))
    with pytest.raises(SourceMalformed, match=message):
        source(transport, "q", None).read(QUERY)


def test_status_error_in_a_200_is_a_rejection() -> None:
    body = {"status": "error", "error": "query timed out"}
    transport = httpx.MockTransport(lambda _: httpx.Response(200, json=body))
    with pytest.raises(SourceRejected, match="query timed out"):
        source(transport, "q", None).read(QUERY)


def test_transport_failures_are_unavailable() -> None:
    def fail(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectTimeout("timed out", request=request)

    with pytest.raises(SourceUnavailable, match="timed out"):
        source(httpx.MockTransport(fail), "q", None).read(QUERY)


def test_an_unknown_metric_is_refused() -> None:
    transport, _ = replay()
    with pytest.raises(UnknownMetric, match="csat"):
        source(transport, "q", None).read(MetricQuery("csat", START, START))
