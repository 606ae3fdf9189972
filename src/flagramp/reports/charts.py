"""Static SVG charts of a report (matplotlib, Agg), readable without colour.

Every series differs by line style and marker as well as colour, bands by hatch,
and lines carry labels, so a chart printed in grey still reads. The SVG is
deterministic for a given matplotlib: ids come from a fixed `svg.hashsalt`,
text stays text (`svg.fonttype: none`) and the metadata carry no date.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import warnings
from collections.abc import Sequence
from typing import Any

import matplotlib as mpl
import matplotlib.dates as mdates
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from flagramp.reports.model import ChartData, GuardSeries, LatencySeries, SplitChart

#: The rc settings every chart is drawn with (deterministic, plain SVG text).
RC: dict[str, Any] = {
    "svg.hashsalt": "flagramp-reports",
    "svg.fonttype": "none",
    "font.family": "DejaVu Sans",
    "font.size": 9,
    "axes.grid": True,
    "grid.alpha": 0.3,
}
_METADATA = {"Date": None, "Creator": "flagramp", "Format": None, "Type": None}
_STYLES = (("-", "o"), ("--", "s"), ("-.", "^"), (":", "D"))
_GREYS = ("#1b4f72", "#7d3c98", "#b9770e", "#196f3d")
_HATCHES = ("//", "..", "\\\\", "xx")
_PROLOG = re.compile(r"\A.*?(?=<svg)", re.DOTALL)


def render_charts(data: ChartData) -> dict[str, str]:
    """Every chart of the report as SVG text, by name (`rollout`, `guard-…`)."""
    with mpl.rc_context(RC):  # type: ignore[arg-type]
        return _render_all(data)


def _render_all(data: ChartData) -> dict[str, str]:
    charts: dict[str, str] = {}
    if data.steps:
        charts["rollout"] = rollout_chart(data)
    for series in data.guards:
        if series.points:
            name = f"guard-p{series.phase + 1}-s{series.stage + 1}-{series.criterion}"
            charts[name] = guard_chart(series)
    for latency in data.latency:
        if latency.points:
            charts[f"latency-{latency.metric}"] = latency_chart(latency)
    for split in data.splits:
        if split.rows:
            charts[split.name] = split_chart(split)
    return charts


def rollout_chart(data: ChartData) -> str:
    """Percentage of users per flag over time, stage bands, decisions, incidents."""
    fig, ax = _figure(8.0, 3.2)
    for i, band in enumerate(data.bands):
        ax.axvspan(
            _num(band.start),
            _num(band.end),
            facecolor="none",
            edgecolor="#999999",
            hatch=_HATCHES[i % 2],
            linewidth=0,
            alpha=0.35,
        )
    flags = list(dict.fromkeys(s.flag for s in data.steps))
    end = max(b.end for b in data.bands) if data.bands else data.steps[-1].at
    for i, flag in enumerate(flags):
        points = [s for s in data.steps if s.flag == flag]
        xs = [_num(p.at) for p in points] + [_num(end)]
        ys = [p.percentage for p in points] + [points[-1].percentage]
        style, marker = _STYLES[i % len(_STYLES)]
        ax.step(
            xs,
            ys,
            where="post",
            linestyle=style,
            marker=marker,
            markevery=list(range(len(points))),
            color=_GREYS[i % len(_GREYS)],
            label=flag,
        )
    for mark in data.markers:
        x = _num(mark.at)
        is_incident = mark.kind == "incident"
        ax.plot(
            [x],
            [104 if is_incident else 108],
            marker="X" if is_incident else "v",
            color="#a93226" if is_incident else "#000000",
            linestyle="none",
        )
        if is_incident:
            ax.annotate(
                mark.label, (x, 104), xytext=(4, -12), textcoords="offset points"
            )
    ax.set_ylim(-2, 114)
    ax.set_ylabel("users with the flag (%)")
    ax.set_title("Rollout: percentage over time (▼ go/no-go answer, ✖ flags off)")
    _time_axis(ax)
    ax.legend(loc="center left", fontsize=7, frameon=True)
    return _svg(fig)


def guard_chart(series: GuardSeries) -> str:
    """A criterion's metric over its stage: treatment with a band, control, limit."""
    fig, ax = _figure(6.0, 2.6)
    xs = [_num(p.at) for p in series.points]
    band = [(x, p.low, p.high) for x, p in zip(xs, series.points, strict=True)]
    known = [(x, lo, hi) for x, lo, hi in band if lo is not None and hi is not None]
    if known:
        ax.fill_between(
            [k[0] for k in known],
            [k[1] for k in known],
            [k[2] for k in known],
            facecolor="none",
            edgecolor="#555555",
            hatch="///",
            linewidth=0,
            label="treatment 95 % interval",
        )
    treatment = [(x, p.treatment) for x, p in zip(xs, series.points, strict=True)]
    control = [(x, p.control) for x, p in zip(xs, series.points, strict=True)]
    _line(ax, treatment, "-", "o", "#1b4f72", "treatment")
    _line(ax, control, "--", "s", "#7d3c98", "control")
    if series.limit is not None:
        ax.axhline(series.limit, color="#a93226", linestyle=":", linewidth=1.5)
        ax.annotate(
            f"limit {series.limit:g} {series.unit}".strip(),
            (xs[0], series.limit),
            xytext=(2, 3),
            textcoords="offset points",
        )
    ax.set_ylabel(f"{series.metric} ({series.unit})" if series.unit else series.metric)
    ax.set_title(
        f"Phase {series.phase + 1}, stage {series.stage + 1}: {series.criterion}, "
        "cumulative"
    )
    _time_axis(ax)
    _legend(ax)
    return _svg(fig)


def latency_chart(series: LatencySeries) -> str:
    """A quantile metric's p50, p95 and p99 hour by hour, in treatment."""
    fig, ax = _figure(6.0, 2.6)
    xs = [_num(p.at) for p in series.points]
    for (style, marker), name, values in zip(
        _STYLES,
        ("p50", "p95", "p99"),
        (
            [p.p50 for p in series.points],
            [p.p95 for p in series.points],
            [p.p99 for p in series.points],
        ),
        strict=False,
    ):
        ax.plot(xs, values, linestyle=style, marker=marker, label=name, color="#333333")
    ax.set_ylabel(series.unit or series.metric)
    ax.set_title(f"{series.metric}: treatment quantiles per hour")
    _time_axis(ax)
    _legend(ax)
    return _svg(fig)


def split_chart(split: SplitChart) -> str:
    """A question's split by a label: one hatched bar per label, each labelled
    with its share and count, largest on top."""
    rows = split.rows
    height = 1.2 + 0.45 * len(rows)
    fig, ax = _figure(6.0, height)
    # Margins in inches, so that the axis label fits however many bars.
    fig.subplots_adjust(left=0.2, right=0.8, top=1 - 0.35 / height, bottom=0.6 / height)
    ys = list(range(len(rows)))[::-1]
    bars = ax.barh(
        ys,
        [r.share for r in rows],
        height=0.6,
        color="none",
        edgecolor="#333333",
        linewidth=1,
    )
    for i, (bar, row) in enumerate(zip(bars, rows, strict=True)):
        bar.set_hatch(_HATCHES[i % len(_HATCHES)])
        ax.annotate(
            f"{row.share:.1f} % ({row.count:,.0f})",
            (bar.get_width(), bar.get_y() + bar.get_height() / 2),
            xytext=(4, 0),
            textcoords="offset points",
            va="center",
        )
    ax.set_yticks(ys, [r.label for r in rows])
    ax.set_xlim(0, 100)
    ax.set_xlabel("share of the events (%)")
    ax.grid(axis="y", visible=False)
    ax.set_title(f"{split.checkpoint}: {split.metric} by {split.split_on}")
    return _svg(fig)


def _line(
    ax: Axes,
    points: Sequence[tuple[float, float | None]],
    style: str,
    marker: str,
    color: str,
    label: str,
) -> None:
    known = [(x, y) for x, y in points if y is not None]
    if known:
        ax.plot(
            [k[0] for k in known],
            [k[1] for k in known],
            linestyle=style,
            marker=marker,
            markersize=3,
            color=color,
            label=label,
        )


def _figure(width: float, height: float) -> tuple[Figure, Axes]:
    # A fixed layout: constrained layout doubles the text measuring, which is
    # most of a chart's cost.
    fig = Figure(figsize=(width, height))
    fig.subplots_adjust(left=0.09, right=0.98, top=0.88, bottom=0.2)
    return fig, fig.subplots()


def _num(at: dt.datetime) -> float:
    return float(mdates.date2num(at))  # type: ignore[no-untyped-call]


def _time_axis(ax: Axes) -> None:
    # matplotlib.dates has no type hints.
    locator = mdates.AutoDateLocator(tz=mdates.UTC, maxticks=6)  # type: ignore[no-untyped-call]
    formatter = mdates.ConciseDateFormatter(locator, tz=mdates.UTC)  # type: ignore[no-untyped-call]
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(formatter)
    ax.set_xlabel("time (UTC)")


def _legend(ax: Axes) -> None:
    # A series with no labelled line (one point, no band) has nothing to name;
    # matplotlib would warn on the user's terminal.
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="best", fontsize=7)


def _svg(fig: Figure) -> str:
    buffer = io.StringIO()
    with warnings.catch_warnings():
        # AutoDateLocator warns when a chart spans less than its finest interval
        # (a stage of a few minutes); it then picks one, which is what we want.
        warnings.filterwarnings("ignore", "AutoDateLocator", UserWarning)
        fig.savefig(buffer, format="svg", metadata=_METADATA)
    return inline_svg(buffer.getvalue())


def inline_svg(svg: str) -> str:
    """An SVG document as an element to put inside HTML: no XML prolog or DTD."""
    return _PROLOG.sub("", svg, count=1).strip()
