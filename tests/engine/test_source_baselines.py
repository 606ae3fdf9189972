"""`SourceBaselines`: a relative-to-baseline criterion's baseline read from its
metric's source over the plan's window (before the run or the stage), in
pieces of one-minute steps whose totals add up exactly, once per span; a
failure is a data gap that says so."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest

from flagramp.core.plans import load_plan
from flagramp.engine.compile import compile_plan
from flagramp.engine.compiled import CompiledRatio
from flagramp.engine.machine import RunContext
from flagramp.engine.run_state import RunState, RunStatus
from flagramp.engine.scopes import epoch_minute
from flagramp.engine.source_baselines import (
    SourceBaselines,
    baseline_span,
    pieces,
    run_started_at,
)
from flagramp.engine.source_health import SourceHealth
from flagramp.sources import FakeSource, MetricQuery, Point, Reading
from flagramp.sources.base import SourceUnavailable
from flagramp.stats.overdispersion import estimate_overdispersion
from tests.engine.test_source_runs import BASELINE_PLAN

RUN_AT = dt.datetime(2026, 11, 23, 10, 0, 30, tzinfo=dt.UTC)
STAGE_AT = RUN_AT + dt.timedelta(hours=3)
CRITERION = "errors_vs_baseline"
PER_MINUTE = 1_000.0


def _context(before: str = "run") -> RunContext:
    text = BASELINE_PLAN.replace("before: run", f"before: {before}")
    plan = load_plan(text, "sourced.yaml").plan
    return RunContext("R1", plan, compile_plan(plan), plan.environment)


def _state() -> RunState:
    """At the second stage, entered 3 hours after the first."""
    return RunState(
        RunStatus.STAGE_RUNNING,
        phase=0,
        stage=1,
        since=STAGE_AT,
        live_stage=1,
        stage_entered_at=STAGE_AT,
        stage_results=({"entered_at": RUN_AT.isoformat()},),
    )


class Backend:
    """Per minute: 1,000 requests and 10 errors off (1 %), 30 on; includes the
    range's end, as Prometheus does; counts its queries."""

    def __init__(self) -> None:
        self.queries: list[MetricQuery] = []
        self.fail = False

    def read(self, query: MetricQuery) -> Reading:
        self.queries.append(query)
        if self.fail:
            raise SourceUnavailable("prometheus", "connection refused")
        minutes = int((query.end - query.start) / query.step) + 1
        points = tuple(
            Point(query.start + i * query.step, variant, errors, PER_MINUTE)
            for i in range(minutes)
            for variant, errors in (("off", 10.0), ("on", 30.0))
        )
        return Reading("prometheus", query.metric, points, per_user=False)


def _baselines(backend: Backend) -> SourceBaselines:
    return SourceBaselines(
        SourceHealth({"prometheus": FakeSource(backend.read)}, deadline=2)
    )


def test_the_window_ends_at_the_runs_first_flag_change_or_at_the_stage() -> None:
    state = _state()
    assert run_started_at(state) == RUN_AT
    for before, end in (("run", RUN_AT), ("stage", STAGE_AT)):
        check = _context(before).compiled(0, 0).checks[0]
        assert isinstance(check, CompiledRatio)
        span = baseline_span(check, state)
        whole = dt.datetime.fromtimestamp(epoch_minute(end) * 60, dt.UTC)
        assert span == (whole - dt.timedelta(days=7), whole)


def test_a_week_is_read_in_pieces_of_one_minute_steps_and_totals_add_up() -> None:
    backend = Backend()
    context = _context()
    reads = _baselines(backend).read(
        context, context.compiled(0, 0), _state(), STAGE_AT
    )
    assert not reads.failures
    arm = reads.arms[CRITERION]
    minutes = 7 * 1440
    # Every minute once: the pieces' shared ends are not counted twice.
    assert arm.size == minutes * PER_MINUTE
    assert arm.estimate == pytest.approx(0.01)
    # The off variant's own φ (constant totals: 1, no inflation).
    assert arm.design_effect == estimate_overdispersion([10.0], [PER_MINUTE]).factor
    # One read per piece (10,080 minutes: two); every piece under the limit.
    assert len(backend.queries) == 2
    assert {q.step for q in backend.queries} == {dt.timedelta(minutes=1)}
    assert all(q.end - q.start <= dt.timedelta(minutes=10_000) for q in backend.queries)
    assert [q.external is not None for q in backend.queries] == [True] * 2


def test_pieces_cover_the_span_without_overlap() -> None:
    start = RUN_AT - dt.timedelta(days=30)
    found = list(pieces(start, RUN_AT))
    assert found[0][0] == start and found[-1][1] == RUN_AT
    assert all(a[1] == b[0] for a, b in itertools.pairwise(found))
    assert len(found) == 5


def test_the_baseline_is_read_once_and_a_restart_reads_the_same() -> None:
    backend = Backend()
    context = _context()
    stage = context.compiled(0, 0)
    baselines = _baselines(backend)
    first = baselines.read(context, stage, _state(), STAGE_AT)
    later = STAGE_AT + dt.timedelta(minutes=5)
    assert baselines.read(context, stage, _state(), later) == first
    assert len(backend.queries) == 2  # not asked again
    # A restarted controller reads the same span again: the same arm.
    again = _baselines(backend).read(context, stage, _state(), later)
    assert again == first
    assert [(q.start, q.end) for q in backend.queries[2:]] == [
        (q.start, q.end) for q in backend.queries[:2]
    ]


def test_a_failed_read_is_a_data_gap_that_says_so_and_is_tried_again() -> None:
    backend = Backend()
    backend.fail = True
    context = _context()
    stage = context.compiled(0, 0)
    baselines = _baselines(backend)
    reads = baselines.read(context, stage, _state(), STAGE_AT)
    assert reads.arms == {}
    assert reads.failures == {"prometheus": epoch_minute(STAGE_AT)}
    assert reads.problems["prometheus"].startswith(
        "failed reading the baseline of api_error_rate (api_error_rate: "
    )
    # Still failing a minute later: since the first failure.
    later = STAGE_AT + dt.timedelta(minutes=1)
    again = baselines.read(context, stage, _state(), later)
    assert again.failures == reads.failures
    backend.fail = False
    healed = baselines.read(context, stage, _state(), later)
    assert not healed.failures and CRITERION in healed.arms
    # A source failing this tick is not asked (a hung one would wait twice).
    fresh = _baselines(backend)
    asked = len(backend.queries)
    skipped = fresh.read(context, stage, _state(), later, failing=["prometheus"])
    assert skipped.arms == {} and len(backend.queries) == asked


def test_a_source_that_is_not_configured_says_so() -> None:
    context = _context()
    reads = SourceBaselines(SourceHealth({})).read(
        context, context.compiled(0, 0), _state(), STAGE_AT
    )
    assert reads.arms == {}
    assert reads.problems["prometheus"] == (
        "failed reading the baseline of api_error_rate (not configured "
        "(set FLAGRAMP_PROMETHEUS_URL))"
    )
