"""The VAOS run's report: numbers in every stage, equal to the windows, no
placeholder, nothing remote, user text escaped, missing values in words."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from pathlib import Path

import pytest

from flagramp.engine.scopes import attempt_scope
from flagramp.reports import (
    Pending,
    Scopes,
    collect,
    find_placeholders,
    render_charts,
    render_html,
    render_markdown,
)
from flagramp.reports.model import StageResults
from flagramp.stats.windows import Lane, Window, merge_all
from flagramp.store.windows import WindowStore
from tests.reports.vaos_run import (
    PO,
    RUN,
    SCRIPT_COMMENT,
    VaosRun,
    charts,
    html,
    plan,
    report,
    vaos_run,
)

#: A resource the browser would fetch: src/href/srcset to a remote or
#: protocol-relative URL, CSS imports or url()s, stylesheets and scripts.
REMOTE = re.compile(
    r"""(?:\b(?:src|href|srcset|xlink:href|action|poster|data)\s*=\s*["']?\s*(?:https?:)?//)"""
    r"""|@import|url\(\s*["']?\s*(?:https?:)?//|<link\b|<script\b|<iframe\b""",
    re.IGNORECASE,
)


def _results(phase: int, stage: int) -> StageResults:
    found = report().phases[phase].stages[stage].results
    assert isinstance(found, StageResults), found
    return found


def _stage_windows(
    run: VaosRun, phase: int, stage: int, periods: slice = slice(None)
) -> list[Window]:
    flag = report().phases[phase].flags[0]
    res = _results(phase, stage)
    out = []
    for period in res.periods[periods]:
        start = int(period.start.timestamp() // 60)
        end = -(-int(period.end.timestamp()) // 60)
        out += [w for w in run.windows.by_flag[flag] if start <= w.key.start < end]
    return out


def _merged(windows: list[Window], lane: Lane) -> Window:
    return merge_all(w for w in windows if w.key.lane is lane)


def test_every_stage_holds_numbers() -> None:
    stages = report().stages()
    assert len(stages) == 12
    for stage in stages:
        res = stage.results
        assert isinstance(res, StageResults), (stage.phase, stage.name)
        assert res.treatment_users > 0
        assert res.requests_by_status
        assert res.data_health.minutes_with_data == res.data_health.minutes > 0
        for criterion in res.criteria:
            assert criterion.value is not None, criterion.label
        assert res.latency and res.latency[0].p95 is not None
    text = render_markdown(report())
    sections = text.split("#### Results")[1:]
    assert len(sections) == 12
    for section in sections:
        body = section.split("\n### ")[0]
        assert re.search(r"Unique users: [1-9][\d,]* in treatment", body)
        assert "| errors (critical, rollback) | error_rate below 5 |" in body


def test_stage_values_equal_the_stored_windows() -> None:
    run = vaos_run()
    for phase, stage in ((0, 1), (1, 0), (2, 0)):
        windows = _stage_windows(run, phase, stage)
        on, off = _merged(windows, Lane.ON), _merged(windows, Lane.OFF)
        res = _results(phase, stage)
        # A criterion is judged over the stage's last run, as its decision was.
        judged = _merged(_stage_windows(run, phase, stage, slice(-1, None)), Lane.ON)
        errors = next(c for c in res.criteria if c.label == "errors")
        sums = judged.metrics["error_rate"].sums
        expected = 100 * sums.numerator.sum() / sums.denominator.sum()
        assert errors.value == pytest.approx(expected, rel=1e-12)
        assert res.treatment_users == on.actors.estimate()
        abandonment = next(m for m in res.metrics if m.metric == "abandonment_rate")
        ab = off.metrics["abandonment_rate"].sums
        assert abandonment.control == pytest.approx(
            100 * ab.numerator.sum() / ab.denominator.sum(), rel=1e-12
        )
        ok = sum(
            c.count
            for (name, _, status, _), c in on.breakdown.items()
            if name == "vaos_service_request" and status == "2xx"
        )
        row = next(
            s
            for s in res.requests_by_status
            if (s.event, s.status_class) == ("vaos_service_request", "2xx")
        )
        assert row.treatment == round(ok) > 0
        sketch = on.metrics["vaos_latency"].sketch
        assert sketch is not None
        assert res.latency[0].p95 == sketch.quantile(0.95)
    # At 100 % nobody is in control: the report says so rather than guess.
    full = _results(3, 2)
    assert full.control_users == 0 and full.sample_ratio is None
    assert all(m.control is None for m in full.metrics if m.unit == "%")


def test_a_rolled_back_stage_counts_both_of_its_periods() -> None:
    res = _results(1, 0)
    assert [p.ended_by for p in res.periods] == ["rolled_back", "stage_left"]
    one = _merged(_stage_windows(vaos_run(), 1, 0, slice(1)), Lane.ON)
    assert res.treatment_users > one.actors.estimate()
    # ... but its criteria are the last run's, the one their decisions were
    # made on (the rolled-back hour's injected errors are the incident's).
    assert res.criteria_period == res.periods[-1]
    assert _results(0, 0).criteria_period is None
    errors = next(c for c in res.criteria if c.label == "errors")
    assert errors.value is not None and errors.interval is not None
    assert errors.decision == "healthy"
    text = render_markdown(report())
    assert "over its last run" in text


def test_recorded_intervals_and_decisions_are_the_runs() -> None:
    res = _results(0, 0)
    errors = next(c for c in res.criteria if c.label == "errors")
    # The run recorded a rate interval of 0 to 0.25: the report shows percent.
    assert errors.interval == (0.0, 25.0)
    assert errors.interval_kind.startswith("always-valid")
    assert errors.decision == "healthy"
    calls = next(c for c in res.criteria if c.label == "contact_center_calls")
    assert calls.interval is None


def test_no_placeholder_remains() -> None:
    assert find_placeholders(render_markdown(report())) == ()
    assert find_placeholders(html(), html=True) == ()


def test_html_loads_no_remote_resource() -> None:
    page = html()
    assert REMOTE.search(page) is None
    assert "<style>" in page and page.count("<svg") == len(charts())
    # Links in text stay links, with the URL shown.
    assert REMOTE.search('<img src="https://cdn.example/x.png">')
    assert REMOTE.search('<link rel="stylesheet" href="//cdn.example/a.css">')


def test_user_text_is_escaped() -> None:
    page = html()
    assert "<script>alert" not in page
    assert "Looks good &lt;script&gt;alert(1)&lt;/script&gt; &amp; on we go" in page
    text = render_markdown(report())
    assert "<script>" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    gate = report().phases[0].stages[1].go_no_go
    assert gate is not None and gate.votes[0].comment == SCRIPT_COMMENT


def test_missing_answers_say_who_owes_them() -> None:
    last = _results(3, 2)
    owed = f"not answered yet — VAOS Product Owner ({PO})"
    assert str(last.answers[0].answer) == owed
    assert isinstance(last.answers[0].answer, Pending)
    checkpoint = report().go_live
    assert checkpoint is not None
    week = checkpoint.checkpoints[0]
    assert not week.reached
    assert str(week.unique_users).startswith("not reached yet: due ")
    assert owed in render_markdown(report())


def test_go_no_go_gates_show_who_answered() -> None:
    go_live = report().go_live
    assert go_live is not None and go_live.go_no_go is not None
    gate = go_live.go_no_go
    assert gate.outcome == "go"
    assert {v.person for v in gate.votes} == {PO, "vaos-business-stakeholders@va.gov"}
    assert gate.waiting == ()
    # Phase IV's stage B has no gate of its own: its votes are go live's.
    assert report().phases[3].stages[1].go_no_go is None
    stage_gate = report().phases[1].stages[1].go_no_go
    assert stage_gate is not None and stage_gate.outcome == "go"


def test_the_incident_has_its_timeline_and_root_cause() -> None:
    (incident,) = report().incidents
    assert incident.id == "I1" and incident.severity == "critical"
    assert incident.root_cause == "Expired VAOS service credentials after a rotation"
    kinds = [t.what.split(":")[0] for t in incident.timeline]
    assert kinds == [
        "detected",
        "rolled back",
        "rollback verified",
        "re-enabled",
    ]


def test_a_week_after_go_live_the_checkpoint_has_kpis_from_the_windows() -> None:
    run = vaos_run()
    later = collect(run.record, run.windows, as_of=run.live_at + dt.timedelta(days=8))
    assert later.go_live is not None
    week, month = later.go_live.checkpoints
    assert week.reached and not month.reached
    flag = report().phases[3].flags[0]
    start = int(run.live_at.timestamp() // 60)
    on = merge_all(
        w
        for w in run.windows.by_flag[flag]
        if w.key.start >= start and w.key.lane is Lane.ON
    )
    assert week.unique_users == on.actors.estimate() > 0
    errors = next(k for k in week.kpis if k.metric == "error_rate")
    sums = on.metrics["error_rate"].sums
    assert errors.actual == pytest.approx(
        100 * sums.numerator.sum() / sums.denominator.sum(), rel=1e-12
    )
    assert errors.met is True
    assert isinstance(month.kpis[0].actual, Pending)
    assert find_placeholders(render_markdown(later)) == ()


def test_a_report_read_from_the_window_store_equals_the_one_from_memory(
    tmp_path: Path,
) -> None:
    run = vaos_run()
    store = WindowStore.open(f"sqlite:///{tmp_path / 'windows.db'}")
    try:
        for flag, windows in run.windows.by_flag.items():
            assert store.add_batch(RUN, f"sim-{flag}", windows)
        stored = collect(run.record, store, as_of=run.ended_at)
    finally:
        store.engine.dispose()
    assert render_markdown(stored) == render_markdown(report())


def test_a_run_that_just_started_says_what_is_awaited() -> None:
    run = vaos_run()
    record = run.record
    started = type(record)(
        run=record.run,
        plan_text=record.plan_text,
        environment=record.environment,
        status="waiting_prerequisites",
        created_at=record.created_at,
        events=record.events[:2],
    )
    as_of = record.created_at + dt.timedelta(seconds=90)
    fresh = collect(started, run.windows, as_of=as_of)
    assert all(isinstance(s.results, Pending) for s in fresh.stages())
    unsigned = fresh.prerequisites[1].signed_by
    assert str(unsigned) == (
        "not signed yet — VAOS Service team (vaos-service-team@va.gov)"
    )
    assert isinstance(fresh.prerequisites[0].signed_by, str)
    text = render_markdown(fresh)
    page = render_html(fresh, render_charts(fresh.charts))
    assert find_placeholders(text) == () and find_placeholders(page, html=True) == ()
    assert text.count("- not reached yet") == 12
    assert "- [x] HSRM is launched" in text
    assert "- [ ] VAOS Service is launched" in text


def test_every_rollout_stage_of_the_plan_is_in_the_report() -> None:
    names = [
        (phase.name, stage.name)
        for _, phase in plan().rollout_phases()
        for stage in phase.stages
    ]
    got = [(report().phases[s.phase].name, s.name) for s in report().stages()]
    assert got == names


def test_windows_in_one_scope_per_stage_attempt_give_the_same_report() -> None:
    run = vaos_run()
    base = report()
    by_scope: dict[str, dict[str, list[Window]]] = {}

    def put(scope: str, flag: str, windows: list[Window]) -> None:
        keyed = [
            dataclasses.replace(w, key=dataclasses.replace(w.key, run=scope))
            for w in windows
        ]
        by_scope.setdefault(scope, {}).setdefault(flag, []).extend(keyed)

    for stage in base.stages():
        res = stage.results
        assert isinstance(res, StageResults)
        flag = base.phases[stage.phase].flags[0]
        for attempt, period in enumerate(res.periods):
            windows = _stage_windows(
                run, stage.phase, stage.index, slice(attempt, attempt + 1)
            )
            entered = int(period.start.timestamp() // 60)
            put(f"{RUN}/p{stage.phase}/s{stage.index}/m{entered}", flag, windows)
    last = base.phases[3].flags[0]
    live = int(run.live_at.timestamp() // 60)
    put(
        f"{RUN}/live",
        last,
        [w for w in run.windows.by_flag[last] if w.key.start >= live],
    )

    class Scoped:
        def windows(
            self,
            scope: str,
            flag: str,
            *,
            lane: Lane | None = None,
            start: int | None = None,
            end: int | None = None,
        ) -> tuple[Window, ...]:
            return tuple(
                w
                for w in by_scope.get(scope, {}).get(flag, [])
                if (start is None or w.key.start >= start)
                and (end is None or w.key.end <= end)
            )

    scopes = Scopes(stage=attempt_scope, go_live=lambda r: f"{r}/live")
    for as_of in (run.ended_at, run.live_at + dt.timedelta(days=8)):
        scoped = collect(run.record, Scoped(), as_of=as_of, scopes=scopes)
        plain = collect(run.record, run.windows, as_of=as_of)
        assert render_markdown(scoped) == render_markdown(plain)
