"""Go-live checkpoints of the VAOS and Secure Messaging examples, from a month of
simulated day windows: every KPI has an actual, people's answers appear only when
typed in, and query answers equal what the simulator's own users give."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest

from flagramp.cli.sim_windows import ScopeWindows, spec_channels
from flagramp.core.metric_kinds import MetricKind
from flagramp.core.plans import Plan, load_plan
from flagramp.engine.checkpoint_result import (
    CheckpointError,
    CheckpointResult,
    KpiStatus,
    QuestionStatus,
)
from flagramp.engine.checkpoints import answer_question, compute_checkpoint
from flagramp.engine.compile import metric_specs
from flagramp.sim import ON, FlagState, SpanAggregate, World, span_aggregate
from flagramp.sim.examples import (
    SM_FLAGS,
    SM_TESTERS,
    VAOS_FLAGS,
    secure_messaging_world,
    vaos_world,
)
from flagramp.stats.ingest import MetricSpec
from flagramp.stats.windows import Window
from tests.sim.worlds import MONDAY

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
DAY = 1440
DAYS = 30
AT = dt.datetime(2026, 2, 5, 12, tzinfo=dt.UTC)


def _plan(name: str) -> Plan:
    return load_plan((EXAMPLES / name).read_text(), name).plan


class Month:
    """A month of day windows per flag after go live, and the raw aggregates."""

    def __init__(
        self,
        plan: Plan,
        aggs: list[SpanAggregate],
        windows: dict[str, list[Window]],
        calls: float,
    ) -> None:
        self.plan, self.aggs, self.windows, self.calls = plan, aggs, windows, calls
        self._merged: dict[int, SpanAggregate] = {}

    def merged(self, days: int) -> SpanAggregate:
        """The first `days` days as one aggregate (cached: merges cost seconds)."""
        if days not in self._merged:
            out = self.aggs[0]
            for agg in self.aggs[1:days]:
                out = out.merge(agg)
            self._merged[days] = out
        return self._merged[days]


def _month(
    plan: Plan,
    world: World,
    states: tuple[FlagState, ...],
    flags: tuple[str, ...],
) -> Month:
    specs = metric_specs(plan.metrics)
    scopes = {f: ScopeWindows("run-1/go-live", f, specs) for f in flags}
    windows: dict[str, list[Window]] = {f: [] for f in flags}
    aggs = []
    calls = 0.0
    for d in range(DAYS):
        agg = span_aggregate(
            3, world, MONDAY + d * DAY, MONDAY + (d + 1) * DAY, states, report=flags
        )
        aggs.append(agg)
        calls += float(agg.environment.sum())
        for f in flags:
            windows[f] += scopes[f].add(agg)
    return Month(plan, aggs, windows, calls)


@pytest.fixture(scope="module")
def vaos() -> Month:
    plan = _plan("vaos-service-integration.yaml")
    world = vaos_world(users=10_000, requests_per_minute=30.0)
    states = tuple(FlagState(f, 100.0) for f, _ in VAOS_FLAGS)
    # The first flag and the reference flag (the last phase's): enough for users
    # by flag, at half the cost of all four.
    return _month(plan, world, states, (VAOS_FLAGS[0][0], VAOS_FLAGS[-1][0]))


@pytest.fixture(scope="module")
def sm() -> Month:
    plan = _plan("secure-messaging-oracle-health.yaml")
    world = secure_messaging_world(users=8_000, requests_per_minute=20.0)
    states = tuple(
        FlagState(f, 100.0, allow_list=SM_TESTERS, bucket_key="sm") for f in SM_FLAGS
    )
    return _month(plan, world, states, SM_FLAGS)


def _checkpoint(month: Month, index: int, days: int, **kw: object) -> CheckpointResult:
    go_live = month.plan.go_live
    assert go_live is not None
    return compute_checkpoint(
        month.plan,
        go_live.checkpoints[index],
        month.windows,
        MONDAY,
        MONDAY + days * DAY,
        **kw,  # type: ignore[arg-type]
    )


def test_every_vaos_kpi_has_an_actual_at_both_checkpoints(vaos: Month) -> None:
    for index, days in ((0, 7), (1, DAYS)):
        calls = sum(float(a.environment.sum()) for a in vaos.aggs[:days])
        result = _checkpoint(
            vaos, index, days, environment_counts={"contact_center_calls": calls}
        )
        kpis = {k.name: k for k in result.kpis}
        assert set(kpis) == {"abandonment", "contact_center_calls", "errors"}
        assert all(k.actual.value is not None for k in kpis.values())
        # The world's rates: 1 % of VAOS calls fail, 12 % of starts are abandoned.
        errors = kpis["errors"].actual
        assert errors.value == pytest.approx(1.0, abs=0.3)
        assert errors.value == pytest.approx(
            100 * errors.numerator / errors.denominator
        )
        assert kpis["errors"].status is KpiStatus.MET
        assert kpis["abandonment"].actual.value == pytest.approx(12.0, abs=1.5)
        assert kpis["abandonment"].status is KpiStatus.MET
        assert kpis["contact_center_calls"].actual.value == calls
        assert kpis["contact_center_calls"].status is (
            KpiStatus.MET if calls < 2 else KpiStatus.NOT_MET
        )
        assert result.flag == VAOS_FLAGS[-1][0]


def test_an_environment_level_kpi_without_its_count_has_no_value(vaos: Month) -> None:
    result = _checkpoint(vaos, 0, 7)
    calls = next(k for k in result.kpis if k.name == "contact_center_calls")
    assert calls.actual.value is None
    assert calls.status is KpiStatus.NO_DATA
    assert calls.actual.note and "environment" in calls.actual.note


def test_unique_users_are_the_month_s_exposed_users(vaos: Month) -> None:
    week, month = _checkpoint(vaos, 0, 7), _checkpoint(vaos, 1, DAYS)
    flag = VAOS_FLAGS[-1][0]
    for result, days in ((week, 7), (month, DAYS)):
        truth = len(vaos.merged(days).flags[flag].exposed_users(ON))
        assert result.unique_users == pytest.approx(truth, rel=0.05)
        assert dict(result.users_by_flag)[flag] == result.unique_users
    assert week.unique_users < month.unique_users
    asked = {q.text: q for q in month.questions}
    users = asked["Number of unique users"]
    assert users.status is QuestionStatus.ANSWERED
    assert users.value is not None and users.value.value is not None
    truth = len(
        np.unique(
            np.concatenate(
                [
                    vaos.merged(DAYS).flags[flag].users_of(ON, c)
                    for c in spec_channels(
                        vaos.aggs[0].channels,
                        metric_specs(vaos.plan.metrics)[-1],
                        "vaos_service_request",
                    )
                ]
            )
        )
    )
    assert users.value.value == pytest.approx(truth, rel=0.05)


def test_error_types_have_counts_and_first_seen_inside_the_span(vaos: Month) -> None:
    result = _checkpoint(vaos, 0, 7)
    assert result.error_types
    counts = [e.count for e in result.error_types]
    assert counts == sorted(counts, reverse=True)
    agg = vaos.merged(7).flags[VAOS_FLAGS[-1][0]]
    assert sum(counts) == agg.fingerprint_counts[ON].sum()
    for e in result.error_types:
        assert MONDAY * 60 <= e.first_seen < (MONDAY + 7 * DAY) * 60
        assert 0 < e.users <= e.count


def test_people_s_questions_wait_for_their_answers(vaos: Month) -> None:
    week, month = _checkpoint(vaos, 0, 7), _checkpoint(vaos, 1, DAYS)
    # The plan's post-launch questions are asked at the last checkpoint only.
    assert len(month.questions) == len(week.questions) + 4
    for q in week.questions:
        if q.query is None:
            assert q.status is QuestionStatus.AWAITING
            assert q.answer is None and q.answered_by is not None
            assert q.follow_up is None
    assert ("Types of errors logged", "eng_lead") in week.awaiting()
    issue = "Any issues with VA handling/processing?"
    with pytest.raises(CheckpointError) as refused:
        answer_question(vaos.plan, week, issue, "no", "vaos-eng-lead@va.gov", AT)
    assert refused.value.code == "answer_refused"
    ux = next(q for q in week.questions if q.text.startswith("Any UX changes"))
    assert ux.follow_up is None and ux.follow_up_text == "If yes, what"
    owner = "vaos-product-owner@va.gov"
    answered = answer_question(vaos.plan, week, ux.text, "yes", owner, AT)
    got = answered.question(ux.text)
    assert got.status is QuestionStatus.ANSWERED and got.person == owner
    assert got.follow_up is not None
    assert got.follow_up.status is QuestionStatus.AWAITING
    assert ("If yes, what", "product_owner") in answered.awaiting()
    done = answer_question(vaos.plan, answered, "If yes, what", "a hint", owner, AT)
    assert ("If yes, what", "product_owner") not in done.awaiting()
    assert done.question("If yes, what").answer == "a hint"
    # A "no" opens no follow-up; a query's value cannot be overwritten.
    no = answer_question(vaos.plan, week, ux.text, "no", owner, AT)
    assert no.question(ux.text).follow_up is None
    with pytest.raises(CheckpointError):
        week.with_answer("Number of unique users", "12", owner, AT)
    assert CheckpointResult.from_json(done.to_json()) == done


def test_sm_post_launch_questions_are_answered_by_their_queries(sm: Month) -> None:
    result = _checkpoint(sm, 0, DAYS)
    asked = {q.text.split("?")[0]: q for q in result.questions}
    agg = sm.merged(DAYS)
    flag = SM_FLAGS[0]
    sums = agg.flags[flag]
    exposed = len(sums.exposed_users(ON)) + len(sums.exposed_users(2))

    def users(event: str, *where: str) -> int:
        spec = MetricSpec("x", MetricKind.SHARE_OF_USERS, (event,), where=where)
        chs = spec_channels(agg.channels, spec, event)
        found = [
            np.unique(np.concatenate([sums.users_of(lane, c) for c in chs]))
            for lane in (ON, 2)
        ]
        return sum(len(f) for f in found)

    sending = asked[
        "What percentage of overall SM users are sending new messages each month"
    ]
    assert sending.value is not None
    assert sending.value.value == pytest.approx(100 * users("message_sent") / exposed)
    split = {r.label: r.share for r in sending.value.split}
    assert split["mobile"] == pytest.approx(45.0, abs=3.0)
    average = asked["How many do they send on average"].value
    assert average is not None and average.per_active_user is not None
    assert average.per_active_user == pytest.approx(
        average.numerator / users("message_sent")
    )
    assert average.per_active_user > 1.0
    straight = next(
        q.value for q in result.questions if q.query == "recent_straight_to_start"
    )
    assert straight is not None and straight.value is not None
    want = users(
        "page_view",
        "route == /new-message/start-message",
        "referrer == /new-message/recent",
    )
    assert straight.value == pytest.approx(100 * want / exposed)
    failing = asked["What percentage of new messages throw an error upon submission"]
    assert failing.value is not None
    assert failing.value.value == pytest.approx(1.0, abs=0.3)
    people = [q for q in result.questions if q.query is None]
    assert people and all(q.status is QuestionStatus.AWAITING for q in people)
    # Seed 002's month has no KPIs, only recorded metrics.
    assert result.kpis == ()
    assert [m.metric for m in result.metrics] == [
        "users_sending",
        "messages_submitted",
        "csat",
        "message_error_rate",
    ]
    assert all(m.value is not None for m in result.metrics)
    csat = next(m for m in result.metrics if m.metric == "csat")
    assert csat.value is not None and 3.5 < csat.value < 4.5
    assert CheckpointResult.from_json(result.to_json()) == result
