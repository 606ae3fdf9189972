"""Questions a query answers show the value the engine recorded at the checkpoint.

The VAOS run the machine drove (`test_machine_log.machine_report`) gets a
recorded 1-month `CheckpointResult` (`engine.checkpoint_result`), made the way
`engine.checkpoints` writes one; its plan gains a post-launch question that a
query answers. The report must show the recorded values, name the query, keep
people's questions waiting for their role, and label the checkpoint's user
count with what it counts.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from flagramp.core.types import Json
from flagramp.engine.checkpoint_result import (
    CheckpointResult,
    MetricValue,
    QuestionResult,
    QuestionStatus,
)
from flagramp.reports import ReleaseReport, collect, render_html, render_markdown
from flagramp.reports.golive import query_text
from tests.reports.test_machine_log import machine_report
from tests.reports.vaos_run import MemoryWindows

_ADDED = "How many users called the new VAOS service?"
_FLAG = "va_online_scheduling_vaos_service_va_appointments"


def _users_value(value: float) -> MetricValue:
    return MetricValue(
        "unique_users", "unique_actors", value, "", value, 0.0, ("on", "allow_listed")
    )


def _recorded_month() -> dict[str, Json]:
    questions = (
        QuestionResult(
            "Number of unique users",
            QuestionStatus.ANSWERED,
            query="unique_users",
            value=_users_value(45_938.0),
        ),
        QuestionResult(
            "Types of errors logged", QuestionStatus.AWAITING, answered_by="eng_lead"
        ),
        QuestionResult(
            _ADDED,
            QuestionStatus.ANSWERED,
            query="unique_users",
            value=_users_value(45_938.0),
        ),
    )
    result = CheckpointResult(
        checkpoint="1-month results",
        after="1mo",
        start_minute=0,
        end_minute=1,
        data_start=0,
        data_end=1,
        flag=_FLAG,
        unique_users=46_193,
        users_by_flag=((_FLAG, 46_193),),
        kpis=(),
        metrics=(_users_value(45_938.0),),
        error_types=(),
        questions=questions,
    )
    return result.to_json()


def _report() -> ReleaseReport:
    _, record = machine_report()
    text = record.plan_text.replace(
        "  questions:\n    - text: >-\n        How do the KPIs",
        f"  questions:\n    - text: {_ADDED}\n      query: unique_users\n"
        "    - text: >-\n        How do the KPIs",
    )
    assert text != record.plan_text
    state: dict[str, Json] = {**record.state, "checkpoints": [_recorded_month()]}
    changed = dataclasses.replace(record, plan_text=text, state=state)
    as_of = record.events[-1].at + dt.timedelta(days=40)
    return collect(changed, MemoryWindows(), as_of=as_of)


def test_query_questions_show_the_recorded_value_and_name_the_query() -> None:
    report = _report()
    assert report.go_live is not None
    month = report.go_live.checkpoints[1]
    assert month.reached and month.recorded
    rows = {a.question: a for a in month.answers}
    users = rows["Number of unique users"]
    assert users.answer == "45,938 users with a vaos_service_request event"
    assert users.by == "query unique_users, recorded at the 1-month results checkpoint"
    errors = rows["Types of errors logged"]
    assert str(errors.answer) == (
        "not answered yet — VAOS frontend engineering lead (vaos-eng-lead@va.gov)"
    )
    post = {a.question: a for a in report.go_live.questions}
    assert post[_ADDED].answer == "45,938 users with a vaos_service_request event"
    assert "query unique_users" in str(post[_ADDED].by)
    first = report.go_live.questions[1]
    assert str(first.answer).startswith("not answered yet — VAOS Product Owner")


def test_the_two_user_counts_say_what_they_count() -> None:
    report = _report()
    markdown = render_markdown(report)
    assert "- Users with the feature: 46,193 (distinct users of " + _FLAG in markdown
    assert "as recorded at the checkpoint" in markdown
    assert (
        "- Number of unique users: 45,938 users with a vaos_service_request event"
        in markdown
    )
    assert (
        f"{_ADDED}\n   45,938 users with a vaos_service_request event (query"
        in markdown
    )
    assert "UTC (reached)" in markdown
    html = render_html(report, {})
    assert "Users with the feature: 46,193" in html
    assert "45,938 users" in html


def test_a_recorded_value_in_words() -> None:
    count = MetricValue(
        "messages_submitted",
        "count",
        412.0,
        "",
        412.0,
        0.0,
        ("on",),
        per_active_user=1.75,
    )
    assert query_text(count.to_json()) == "412 events, 1.75 per user with the event"
    empty = MetricValue(
        "csat", "mean", None, "", 0.0, 0.0, ("on",), note="no events in the span"
    )
    assert query_text(empty.to_json()) == "no data: no events in the span"


def test_the_report_reads_as_a_release_manager_would() -> None:
    report, _ = machine_report()
    guards = {
        f"guard-p{g.phase + 1}-s{g.stage + 1}-{g.criterion}": f"c/{g.phase}{g.stage}"
        for g in report.charts.guards
    }
    markdown = render_markdown(report, guards)
    # Periods in words, separated by "; ".
    assert "(rolled back); " in markdown and "(moved on)" in markdown
    assert "ended by" not in markdown
    assert "none (none:" not in markdown and "none (a count of events)" in markdown
    assert "re-enabled" in markdown and "re enabled" not in markdown
    # The table of fingerprints is not the people's question of the same name.
    assert "- Error fingerprints logged:" in markdown
    # A stage's guard charts are in its own results, before the next stage.
    assert guards
    for name, path in guards.items():
        stage = int(name.split("-")[2][1:])
        heading = f"### Stage {'ABC'[stage - 1]}"
        before = markdown.index(f"]({path})")
        phase_at = markdown.rfind("## Phase", 0, before)
        assert markdown.rfind(heading, 0, before) > phase_at
