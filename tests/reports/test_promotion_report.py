"""Seed 004's promotion run gets its own layout: environments, each step's
checklist with who and when, backup, verification, go/no-go and outcome."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from flagramp.reports import (
    Pending,
    RunEvent,
    RunRecord,
    collect,
    find_placeholders,
    render_charts,
    render_html,
    render_markdown,
)
from tests.reports.vaos_run import MemoryWindows

TMP = Path(__file__).parents[2] / "examples" / "tmp-deployment.yaml"
AT = dt.datetime(2023, 7, 25, 22, 0, tzinfo=dt.UTC)


def _record(*events: RunEvent) -> RunRecord:
    return RunRecord(
        run="R2",
        plan_text=TMP.read_text(),
        environment="production",
        status="stage_running",
        created_at=AT,
        events=events,
    )


def test_a_promotion_reports_environments_steps_and_checklists() -> None:
    report = collect(_record(), MemoryWindows(), as_of=AT)
    promotion = report.promotion
    assert promotion is not None
    assert [e.name for e in promotion.environments][-1] == "production"
    assert promotion.window == "22:00–06:00 (America/New_York)"
    qa, _, production = promotion.steps
    assert qa.backup == "none"
    assert production.backup == "a snapshot 1 day(s) before at 22:00 (America/New_York)"
    assert production.date == dt.date(2023, 7, 26)
    assert isinstance(production.outcome, Pending)
    first = production.checklist[0]
    assert isinstance(first.done_by, Pending)
    assert str(first.done_by).startswith("not done yet — ")
    assert qa.verification == ("hook tmp_verification_tests",)
    text = render_markdown(report)
    assert "## Promotion" in text and "### Promote to production" in text
    page = render_html(report, render_charts(report.charts))
    assert find_placeholders(text) == () and find_placeholders(page, html=True) == ()


def test_a_promotion_steps_outcome_comes_from_the_log() -> None:
    done = RunEvent(
        1,
        AT,
        "promotion_step",
        "om@va.gov",
        {"step": 2, "outcome": "go", "note": "probes passed"},
    )
    report = collect(_record(done), MemoryWindows(), as_of=AT)
    assert report.promotion is not None
    assert report.promotion.steps[2].outcome == "go: probes passed"
    assert isinstance(report.promotion.steps[0].outcome, Pending)
