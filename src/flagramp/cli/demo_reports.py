"""The demo's reports: the run's release report, its KPIs at each checkpoint,
and each incident, written into the demo's output folder.

Called as `cli/report.py` calls the reports layer (`collect` over the engine's
ingest scopes, then the Markdown and HTML renderers), on the demo's own store
and as of its virtual clock, so that the files are those `flagramp report show`
/ `kpi` / `incident` would give for the same run. The KPI files are Markdown
forms of what `report kpi` prints.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from flagramp.cli.report import ENGINE_SCOPES
from flagramp.reports import (
    ReleaseReport,
    collect,
    find_placeholders,
    render_charts,
    render_html,
    render_markdown,
)
from flagramp.reports.fmt import given, number, when
from flagramp.reports.markdown import render_incident_markdown
from flagramp.reports.model import CheckpointReport
from flagramp.reports.placeholders import Placeholder
from flagramp.reports.stored import read_record
from flagramp.store.runs import RunReader
from flagramp.store.windows import WindowStore

__all__ = ["WrittenReport", "kpi_markdown", "write_reports"]


@dataclass(frozen=True, slots=True)
class WrittenReport:
    """One file the demo wrote, what it is, and any placeholder left in it."""

    path: Path
    what: str
    placeholders: tuple[Placeholder, ...]


def write_reports(
    run: str, windows: WindowStore, out: Path, as_of: dt.datetime
) -> list[WrittenReport]:
    """Write the run's reports into `out`; every file written, in order.

    `release-report.md` (its SVG charts in `release-report-charts/`),
    `release-report.html` (self-contained), `kpi-<after>.md` for each
    checkpoint, `incident-<id>.md` for each incident.
    """
    record = read_record(RunReader(windows.engine), run)
    report = collect(record, windows, as_of=as_of, scopes=ENGINE_SCOPES)
    out.mkdir(parents=True, exist_ok=True)
    charts = render_charts(report.charts)
    written = [
        _markdown(report, charts, out),
        _write(
            out / "release-report.html",
            "release report (HTML)",
            render_html(report, charts),
            html=True,
        ),
    ]
    for checkpoint in report.go_live.checkpoints if report.go_live else ():
        written.append(
            _write(
                out / f"kpi-{checkpoint.after}.md",
                f"KPIs at {checkpoint.name}",
                kpi_markdown(run, checkpoint),
            )
        )
    for incident in report.incidents:
        written.append(
            _write(
                out / f"incident-{incident.id}.md",
                f"incident {incident.id}",
                render_incident_markdown(incident),
            )
        )
    return written


def _markdown(
    report: ReleaseReport, charts: dict[str, str], out: Path
) -> WrittenReport:
    folder = out / "release-report-charts"
    folder.mkdir(exist_ok=True)
    paths = {}
    for name, svg in charts.items():
        (folder / f"{name}.svg").write_text(svg, encoding="utf-8")
        paths[name] = f"{folder.name}/{name}.svg"
    text = render_markdown(report, paths)
    return _write(out / "release-report.md", "release report (Markdown)", text)


def _write(path: Path, what: str, text: str, *, html: bool = False) -> WrittenReport:
    path.write_text(text, encoding="utf-8")
    return WrittenReport(path, what, find_placeholders(text, html=html))


def kpi_markdown(run: str, checkpoint: CheckpointReport) -> str:
    """A checkpoint's KPIs as Markdown: what `flagramp report kpi` prints."""
    lines = [
        f"# {checkpoint.name} of {run}",
        "",
        f"Due {when(checkpoint.due_at)}"
        + ("" if checkpoint.reached else " (not reached yet)")
        + ".",
        "",
        f"Number of unique users: {number(checkpoint.unique_users)}",
        "",
        "| KPI | Target | Actual | Met |",
        "| --- | --- | --- | --- |",
    ]
    for k in checkpoint.kpis:
        met = "not known" if k.met is None else ("met" if k.met else "missed")
        unit = " %" if k.unit == "%" else ""
        actual = number(k.actual, k.unit)
        lines.append(f"| {k.description} | {k.target}{unit} | {actual} | {met} |")
    lines += _answers(checkpoint)
    return "\n".join(lines) + "\n"


def _answers(checkpoint: CheckpointReport) -> Sequence[str]:
    if not checkpoint.answers:
        return []
    lines = ["", "## Questions", ""]
    for a in checkpoint.answers:
        by = ", ".join(x for x in (a.by, a.at and when(a.at)) if x)
        by = f" ({by})" if by else ""
        lines.append(f"- **{a.question}** {given(a.answer)}{by}")
    return lines
