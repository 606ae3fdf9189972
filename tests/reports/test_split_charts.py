"""Seed 002's split questions as charts: the Secure Messaging plan's
post-launch question "breakdown of those users on mobile v. desktop" is
answered by `users_sending`, split by device; at the checkpoint that asks it
the report draws the split (hatched bars, each labelled with its share and
count) and lists it as a table, from the engine's recorded checkpoint or,
before the engine recorded it, from the windows."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path

from flagramp.core.plans import load_plan
from flagramp.core.types import Json
from flagramp.reports import (
    ReleaseReport,
    RunEvent,
    RunRecord,
    collect,
    find_placeholders,
    render_charts,
    render_html,
    render_markdown,
)
from flagramp.reports.model import ShareRow
from flagramp.reports.splits import split_rows
from flagramp.stats.window_parts import BreakdownCell, BreakdownKey
from flagramp.stats.windows import Lane, Window, WindowKey

EXAMPLE = Path(__file__).parents[2] / "examples" / "secure-messaging-oracle-health.yaml"
RUN = "sm-1"
LIVE = dt.datetime(2026, 2, 2, 12, 0, tzinfo=dt.UTC)
AS_OF = LIVE + dt.timedelta(days=32)
QUESTION = "What is the breakdown of those users on mobile v. desktop devices (web)?"
FLAG = "mhv_secure_messaging_new_message_flow"


@dataclass
class Windows:
    """Every flag's windows, the same for any scope."""

    items: tuple[Window, ...] = ()
    reads: list[str] = field(default_factory=list)

    def windows(
        self,
        run: str,
        flag: str,
        *,
        lane: Lane | None = None,
        start: int | None = None,
        end: int | None = None,
    ) -> tuple[Window, ...]:
        self.reads.append(flag)
        return tuple(
            w
            for w in self.items
            if (lane is None or w.key.lane is lane)
            and (start is None or w.key.start >= start)
            and (end is None or w.key.end <= end)
        )


def _window(flag: str, lane: Lane, cells: dict[BreakdownKey, float]) -> Window:
    minute = int(LIVE.timestamp() // 60) + 60
    key = WindowKey(RUN, flag, lane, minute, minute + 1)
    breakdown = {k: BreakdownCell(n, 0.0, 0.0) for k, n in cells.items()}
    return replace(Window.empty(key, 8), breakdown=breakdown)


def _record(state: dict[str, Json]) -> RunRecord:
    went = RunEvent(1, LIVE, "went_live", None, {"at": LIVE.isoformat()})
    return RunRecord(
        run=RUN,
        plan_text=EXAMPLE.read_text(),
        plan_file="sm.yaml",
        environment="production",
        status="completed",
        created_at=LIVE - dt.timedelta(days=20),
        events=(went,),
        state=state,
    )


def _recorded_state() -> dict[str, Json]:
    value: dict[str, Json] = {
        "metric": "users_sending",
        "split_on": "device",
        "split": [["desktop", 5500.0, 55.0], ["mobile", 4500.0, 45.0]],
    }
    question: dict[str, Json] = {"text": QUESTION, "query": "users_sending"}
    question["value"] = value
    checkpoint: dict[str, Json] = {"checkpoint": "1 month", "questions": [question]}
    return {"status": "completed", "checkpoints": [checkpoint]}


@cache
def recorded_report() -> ReleaseReport:
    return collect(_record(_recorded_state()), Windows(), as_of=AS_OF)


def test_a_split_question_gets_a_chart_at_its_checkpoint() -> None:
    report = recorded_report()
    assert report.go_live is not None
    (checkpoint,) = report.go_live.checkpoints
    # Two questions query users_sending (one chart); messages_submitted is
    # split by platform, which windows do not keep: said, not drawn.
    split, by_platform = checkpoint.splits
    assert QUESTION in split.questions and len(split.questions) == 2
    assert (split.metric, split.split_on) == ("users_sending", "device")
    assert split.rows == (
        ShareRow("desktop", 5500.0, 55.0),
        ShareRow("mobile", 4500.0, 45.0),
    )
    assert split.source == "the checkpoint's record"
    assert (by_platform.metric, by_platform.rows) == ("messages_submitted", ())
    assert by_platform.note == "the windows keep no split by 'platform'"
    assert report.charts.splits == (split, by_platform)
    charts = render_charts(report.charts)
    assert by_platform.name not in charts
    svg = charts[split.name]
    assert svg.startswith("<svg")
    # Readable without colour: hatched bars, labels with their values.
    assert svg.count("<pattern") >= 2
    assert "55.0 % (5,500)" in svg and "45.0 % (4,500)" in svg
    assert ">desktop<" in svg and ">mobile<" in svg


def test_the_split_is_in_both_renderings_with_its_table() -> None:
    report = recorded_report()
    charts = render_charts(report.charts)
    split = report.charts.splits[0]
    markdown = render_markdown(report, {n: f"charts/{n}.svg" for n in charts})
    assert f"](charts/{split.name}.svg)" in markdown
    assert re.search(r"\| desktop \| 5,500 \| 55 % \|", markdown)
    html = render_html(report, charts)
    assert 'aria-label="users_sending by device: desktop 55 %, mobile 45 %"' in html
    assert '<th scope="row">mobile</th><td>4,500</td><td>45 %</td>' in html
    assert "nothing to draw: the windows keep no split by 'platform'" in markdown
    assert find_placeholders(markdown) == ()
    assert find_placeholders(html, html=True) == ()


def test_before_the_engine_records_it_the_split_comes_from_the_windows() -> None:
    sent = ("message_sent", "/new-message/start-message", "", "desktop")
    mobile = ("message_sent", "/new-message/start-message", "", "mobile")
    other = ("page_view", "/new-message/recent", "", "mobile")
    windows = Windows(
        (
            _window(FLAG, Lane.ON, {sent: 30, mobile: 10, other: 99}),
            _window(FLAG, Lane.ALLOW_LISTED, {mobile: 10}),
            _window(FLAG, Lane.OFF, {sent: 500}),  # the holdback is not the feature
        )
    )
    report = collect(_record({"status": "completed"}), windows, as_of=AS_OF)
    assert report.go_live is not None
    split = report.go_live.checkpoints[0].splits[0]
    assert split.source == "the windows"
    assert split.rows == (ShareRow("desktop", 30, 60.0), ShareRow("mobile", 20, 40.0))
    assert split.name in render_charts(report.charts)


def test_no_chart_before_the_checkpoint_or_for_a_label_windows_do_not_keep() -> None:
    early = collect(
        _record({"status": "go_live_watching"}),
        Windows(),
        as_of=LIVE + dt.timedelta(days=3),
    )
    assert early.go_live is not None
    assert early.go_live.checkpoints[0].splits == ()
    assert not [n for n in render_charts(early.charts) if n.startswith("split-")]
    plan = load_plan(EXAMPLE.read_text(), "sm.yaml").plan
    rows, note = split_rows(plan.metrics["messages_submitted"], ())
    assert rows == () and note == "the windows keep no split by 'platform'"
