"""`SourceHealth.read`: a stage's external metrics, read once per tick over the
stage's span with the plan's queries, as arms per lane; failures and sources
that are not configured as data gaps. Datadog from recorded responses."""

from __future__ import annotations

import datetime as dt

import httpx
import pytest

from flagramp.core.plans import load_plan
from flagramp.engine.compile import compile_plan
from flagramp.engine.evaluate import evaluate_stage
from flagramp.engine.machine import RunContext
from flagramp.engine.scopes import epoch_minute
from flagramp.engine.source_health import SourceHealth, lane_arms, step_for
from flagramp.sources import (
    DatadogSource,
    FakeSource,
    MetricQuery,
    Point,
    PrometheusSource,
    Reading,
    SourceUnavailable,
)
from flagramp.sources.config import sources_from_env
from flagramp.stats import GuardOutcome
from flagramp.stats.windows import Lane
from tests.engine.test_source_runs import PLAN
from tests.sources.test_datadog import query_text, replay

START = dt.datetime(2026, 11, 23, 10, 0, tzinfo=dt.UTC)
METRIC = "api_error_rate"


def _context(
    kind: str = "prometheus", numerator: str = "", denominator: str = ""
) -> RunContext:
    text = PLAN.replace("kind: prometheus", f"kind: {kind}")
    if numerator:
        old = text.split("query: '", 1)[1].split("'", 1)[0]
        text = text.replace(old, numerator)
        old = text.split("denominator_query: '", 1)[1].split("'", 1)[0]
        text = text.replace(old, denominator)
    plan = load_plan(text, "sourced.yaml").plan
    return RunContext("R1", plan, compile_plan(plan), plan.environment)


def _reading(*variants: str) -> Reading:
    points = tuple(
        Point(START + dt.timedelta(minutes=m), v, 10.0, 1000.0)
        for m in range(5)
        for v in variants
    )
    return Reading("prometheus", METRIC, points, per_user=False)


def test_datadog_readings_from_recorded_responses_become_the_stages_arms() -> None:
    hits, errors = query_text("hits_by_variant"), query_text("errors_by_variant")
    context = _context("datadog", errors, hits)
    transport, seen = replay("errors_by_variant", "hits_by_variant")
    datadog = DatadogSource(
        api_key="api-key",
        application_key="app-key",
        client=httpx.Client(transport=transport),
    )
    health = SourceHealth({"datadog": datadog})
    try:
        reads = health.read(
            context, context.compiled(0, 0), START + dt.timedelta(minutes=5), START
        )
    finally:
        health.close()
    assert reads.failures == {} and reads.problems == {}
    # One read per metric: its numerator and denominator, the plan's queries.
    assert [r.url.params["query"] for r in seen] == [errors, hits]
    arms = reads.arms[METRIC]
    assert arms[Lane.ON].estimate == pytest.approx(14 / 500)
    assert arms[Lane.ON].size == 500
    # No errors series for `off`: its steps count as zero failures.
    assert arms[Lane.OFF].estimate == 0 and arms[Lane.OFF].size == 10_000
    assert not arms[Lane.ON].per_user


def test_the_read_spans_the_stage_with_the_plans_query_once_per_tick() -> None:
    asked: list[MetricQuery] = []

    def answer(query: MetricQuery) -> Reading:
        asked.append(query)
        return _reading("on", "off")

    context = _context()
    stage = context.compiled(0, 0)
    health = SourceHealth({"prometheus": FakeSource(answer)})
    try:
        health.read(context, stage, START, START)  # the stage's first tick
        health.read(context, stage, START + dt.timedelta(minutes=7), START)
    finally:
        health.close()
    first, second = asked
    assert (first.start, first.end) == (START, START + dt.timedelta(minutes=1))
    assert (second.start, second.end) == (START, START + dt.timedelta(minutes=7))
    assert second.external is not None and second.external.denominator is not None
    assert "increase(http_requests_total[1m])" in second.external.denominator


def test_a_reading_without_control_leaves_the_criterion_inconclusive() -> None:
    arms = lane_arms(_reading("on", "beta"), Lane.ON)
    assert set(arms) == {Lane.ON}  # `beta` is no lane
    stage = _context().compiled(0, 0)
    evaluation = evaluate_stage(
        stage, {}, minute=epoch_minute(START) + 60, started=epoch_minute(START),
        source_arms={METRIC: arms},
    )  # fmt: skip
    (check,) = evaluation.checks
    assert check.decision.outcome is GuardOutcome.INCONCLUSIVE


def test_a_failing_source_fails_from_its_first_tick_until_it_answers() -> None:
    broken = [True]

    def answer(query: MetricQuery) -> Reading:
        if broken[0]:
            raise SourceUnavailable("prometheus", "connection refused")
        return _reading("on", "off")

    context = _context()
    stage = context.compiled(0, 0)
    health = SourceHealth({"prometheus": FakeSource(answer)})
    later = START + dt.timedelta(minutes=3)
    try:
        first = health.read(context, stage, START, START)
        again = health.read(context, stage, later, START)
        broken[0] = False
        fine = health.read(context, stage, later, START)
    finally:
        health.close()
    assert first.failures == again.failures == {"prometheus": epoch_minute(START)}
    assert first.arms == {METRIC: {}}  # a failing source's metric has no data
    assert fine.failures == {} and set(fine.arms[METRIC]) == {Lane.ON, Lane.OFF}


def test_a_kind_that_is_not_configured_fails_and_says_so() -> None:
    context = _context("datadog")
    health = SourceHealth({"prometheus": FakeSource(lambda q: _reading("on"))})
    try:
        reads = health.read(context, context.compiled(0, 0), START, START)
    finally:
        health.close()
    assert reads.failures == {"datadog": epoch_minute(START)}
    assert reads.problems == {
        "datadog": "not configured (set DD_API_KEY and DD_APP_KEY)"
    }
    assert reads.arms == {METRIC: {}}


def test_long_spans_read_with_a_longer_step() -> None:
    assert step_for(dt.timedelta(hours=2)) == dt.timedelta(minutes=1)
    assert step_for(dt.timedelta(days=14)) == dt.timedelta(minutes=3)


def test_sources_come_from_the_environment() -> None:
    assert sources_from_env({}) == {}
    assert sources_from_env({"DD_API_KEY": "k"}) == {}  # both keys, or none
    found = sources_from_env(
        {
            "FLAGRAMP_PROMETHEUS_URL": "http://prometheus:9090/",
            "DD_API_KEY": "k",
            "DD_APP_KEY": "a",
            "DD_SITE": "datadoghq.eu",
        }
    )
    prometheus, datadog = found["prometheus"], found["datadog"]
    assert isinstance(prometheus, PrometheusSource)
    assert prometheus.base_url == "http://prometheus:9090"
    assert isinstance(datadog, DatadogSource)
    assert datadog.url == "https://api.datadoghq.eu/api/v1/query"
