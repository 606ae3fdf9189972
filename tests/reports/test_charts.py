"""Charts: SVG strings, deterministic, readable without colour, nothing remote."""

from __future__ import annotations

import re

from tests.reports.vaos_run import charts, report


def test_the_report_has_rollout_guard_and_latency_charts() -> None:
    names = set(charts())
    assert "rollout" in names
    assert "latency-vaos_latency" in names
    # A ratio criterion per stage (abandonment and errors), each stage once.
    guards = {n for n in names if n.startswith("guard-")}
    assert len(guards) == 24
    assert "guard-p2-s1-errors" in guards
    for svg in charts().values():
        assert svg.startswith("<svg") and svg.rstrip().endswith("</svg>")
        assert "<?xml" not in svg and "<!DOCTYPE" not in svg


def test_charts_are_the_same_bytes_every_time() -> None:
    from flagramp.reports import render_charts

    assert render_charts(report().charts) == charts()
    assert "<dc:date>" not in charts()["rollout"]


def test_charts_read_without_colour() -> None:
    rollout = charts()["rollout"]
    # Stage bands are hatched, flags are told apart by name in the legend and
    # by dash pattern, decisions and incidents are marked and labelled.
    assert rollout.count("<pattern") >= 2
    for phase in report().phases:
        assert phase.flags[0] in rollout
    assert len(set(re.findall(r"stroke-dasharray: ([\d.,\s]+)", rollout))) >= 3
    assert "rolled back" in rollout
    guard = charts()["guard-p1-s2-abandonment"]
    assert "limit 20 %" in guard
    assert ">treatment<" in guard and ">control<" in guard
    assert "<pattern" in guard  # the hatched interval band
    # The new service is called in treatment only: no control line to draw.
    assert ">control<" not in charts()["guard-p1-s2-errors"]


def test_charts_load_nothing_remote() -> None:
    for svg in charts().values():
        assert not re.search(r"(?:href|src)\s*=\s*\"(?:https?:)?//", svg)


def test_a_one_point_guard_chart_draws_without_a_warning() -> None:
    # A stage left after one look: nothing labelled to put in a legend, a time
    # span below the date locator's finest step. matplotlib warned on the
    # user's terminal for both.
    import datetime as dt
    import warnings

    from flagramp.reports.charts import guard_chart
    from flagramp.reports.model import GuardSeries, SeriesPoint

    at = dt.datetime(2026, 1, 20, 12, tzinfo=dt.UTC)
    series = GuardSeries(
        1,
        1,
        "csat_vs_base",
        "csat",
        "",
        None,
        (SeriesPoint(at, 4.0, None, None, None),),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        svg = guard_chart(series)
    assert svg.startswith("<svg")
