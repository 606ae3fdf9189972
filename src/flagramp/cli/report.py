"""`flagramp report …`: a run's release report, its KPIs at a checkpoint, an incident.

Thin commands: read the run (from the run store, or `--record FILE`, a run
record as JSON), read its windows from the store (in the engine's ingest
scopes: `engine.scopes`), call `flagramp.reports`, write or print.
"""

from __future__ import annotations

import datetime as dt
import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy import Engine

from flagramp.cli.commands import App
from flagramp.cli.output import console, emit_json, fail, styled, user_errors
from flagramp.cli.text import count
from flagramp.core.clock import SystemClock
from flagramp.core.errors import ReportError
from flagramp.engine.go_live_schedule import go_live_scope
from flagramp.engine.scopes import attempt_scope
from flagramp.reports import (
    ReleaseReport,
    RunRecord,
    Scopes,
    collect,
    find_placeholders,
    render_charts,
    render_html,
    render_markdown,
)
from flagramp.reports.fmt import number, when
from flagramp.reports.markdown import render_incident_markdown
from flagramp.reports.model import CheckpointReport
from flagramp.reports.stored import read_record
from flagramp.store.runs import RunReader
from flagramp.store.windows import WindowStore

report_app = App(help="Release reports: the plan filled in with what happened.")

#: The most a run record file may hold.
MAX_RECORD_BYTES = 64 * 1024 * 1024


class Format(StrEnum):
    """What `report show` writes."""

    MD = "md"
    HTML = "html"


RunArg = Annotated[str, typer.Argument(help="The run's id (R1, vaos-1, …).")]
RecordOpt = Annotated[
    Path | None,
    typer.Option(
        "--record",
        metavar="FILE",
        help="Read the run from a run record (JSON) instead of the run store.",
    ),
]
AsOfOpt = Annotated[
    str | None,
    typer.Option(
        "--as-of",
        metavar="TIME",
        help="Report the run as it was at this ISO time (default: now).",
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]
ScopesOpt = Annotated[
    str,
    typer.Option(
        "--scopes",
        metavar="WHERE",
        help="engine: windows in the engine's ingest scopes (default); "
        "run: windows under the run's own id (imported or simulated data).",
    ),
]


def load_record(run: str, record: Path | None, engine: Engine) -> RunRecord:
    """The run's record, from `--record FILE` or the run store."""
    if record is None:
        return read_record(RunReader(engine), run)
    if record.stat().st_size > MAX_RECORD_BYTES:
        raise ReportError(str(record), f"is over {MAX_RECORD_BYTES} bytes")
    try:
        document = json.loads(record.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ReportError(str(record), f"is not a JSON run record: {exc}") from None
    if not isinstance(document, dict):
        raise ReportError(str(record), "is not a JSON object")
    loaded = RunRecord.from_json(document)
    if loaded.run != run:
        raise ReportError(str(record), f"holds run {loaded.run!r}, not {run!r}")
    return loaded


#: Where the engine keeps a run's windows: one scope per stage attempt, one
#: opened at go live.
ENGINE_SCOPES = Scopes(stage=attempt_scope, go_live=go_live_scope)


class ScopeChoice(StrEnum):
    """Where the run's windows are: the engine's scopes, or the run's own id."""

    ENGINE = "engine"
    RUN = "run"


def make_report(
    run: str,
    record: Path | None,
    as_of: str | None,
    scopes: ScopeChoice = ScopeChoice.ENGINE,
) -> ReleaseReport:
    """The run's report from its record and the store's windows."""
    at = _as_of(as_of)
    windows = WindowStore.open()
    try:
        loaded = load_record(run, record, windows.engine)
        chosen = ENGINE_SCOPES if scopes is ScopeChoice.ENGINE else Scopes()
        return collect(loaded, windows, as_of=at, scopes=chosen)
    finally:
        windows.engine.dispose()


def _scopes(text: str) -> ScopeChoice:
    try:
        return ScopeChoice(text)
    except ValueError:
        raise ReportError("--scopes", f"{text!r} is not engine or run") from None


def _as_of(text: str | None) -> dt.datetime:
    if text is None:
        return SystemClock().now()
    try:
        at = dt.datetime.fromisoformat(text)
    except ValueError:
        raise ReportError("--as-of", f"{text!r} is not an ISO time") from None
    return at if at.tzinfo is not None else at.replace(tzinfo=dt.UTC)


@report_app.command("show")
def show(
    run: RunArg,
    fmt: Annotated[
        Format, typer.Option("--format", "-f", help="md or html.")
    ] = Format.HTML,
    out: Annotated[
        Path, typer.Option("--out", "-o", metavar="DIR", help="Where to write.")
    ] = Path("."),
    record: RecordOpt = None,
    as_of: AsOfOpt = None,
    scopes: ScopesOpt = "engine",
) -> None:
    """Write the run's release report (Markdown with SVG charts beside it, or
    one self-contained HTML file)."""
    with user_errors():
        report = make_report(run, record, as_of, _scopes(scopes))
        charts = render_charts(report.charts)
        out.mkdir(parents=True, exist_ok=True)
        if fmt is Format.HTML:
            text = render_html(report, charts)
            path = out / f"{run}.html"
        else:
            folder = out / f"{run}-charts"
            folder.mkdir(exist_ok=True)
            paths = {}
            for name, svg in charts.items():
                (folder / f"{name}.svg").write_text(svg, encoding="utf-8")
                paths[name] = f"{folder.name}/{name}.svg"
            text = render_markdown(report, paths)
            path = out / f"{run}.md"
        path.write_text(text, encoding="utf-8")
        left = find_placeholders(text, html=fmt is Format.HTML)
    console.print(styled("wrote", "green"), str(path))
    if left:
        fail(
            f"{path}: {count(len(left), 'placeholder')} "
            f"{'remains' if len(left) == 1 else 'remain'}, "
            f"first: {left[0].text!r}"
        )


@report_app.command("kpi")
def kpi(
    run: RunArg,
    checkpoint: Annotated[
        str,
        typer.Option(
            "--checkpoint", "-c", help="The checkpoint's `after` (1w, 1mo) or name."
        ),
    ],
    record: RecordOpt = None,
    as_of: AsOfOpt = None,
    as_json: JsonOpt = False,
    scopes: ScopesOpt = "engine",
) -> None:
    """The KPIs at a checkpoint after go live: actual against target."""
    with user_errors():
        report = make_report(run, record, as_of, _scopes(scopes))
        found = _checkpoint(report, checkpoint)
    if as_json:
        emit_json(
            {
                "run": run,
                "checkpoint": found.name,
                "due_at": found.due_at.isoformat() if found.due_at else None,
                "reached": found.reached,
                "unique_users": _plain(found.unique_users),
                "kpis": [
                    {
                        "name": k.name,
                        "metric": k.metric,
                        "target": k.target,
                        "actual": _plain(k.actual),
                        "met": k.met,
                    }
                    for k in found.kpis
                ],
            }
        )
        return
    console.print(f"{found.name} of {run}: due {when(found.due_at)}")
    console.print(f"Number of unique users: {number(found.unique_users)}")
    table = Table("KPI", "Target", "Actual", "Met")
    for k in found.kpis:
        met = "not known" if k.met is None else ("met" if k.met else "missed")
        unit = " %" if k.unit == "%" else ""
        table.add_row(k.description, f"{k.target}{unit}", number(k.actual, k.unit), met)
    console.print(table)


def _checkpoint(report: ReleaseReport, wanted: str) -> CheckpointReport:
    if report.go_live is None or not report.go_live.checkpoints:
        raise ReportError(f"run {report.header.run}", "its plan has no checkpoints")
    for checkpoint in report.go_live.checkpoints:
        if wanted in (checkpoint.after, checkpoint.name):
            return checkpoint
    known = ", ".join(c.after for c in report.go_live.checkpoints)
    raise ReportError(f"checkpoint {wanted!r}", f"the plan has {known}")


def _plain(value: object) -> object:
    return value if isinstance(value, int | float) or value is None else str(value)


@report_app.command("incident")
def incident(
    run: RunArg,
    incident_id: Annotated[str, typer.Argument(metavar="INCIDENT", help="I1, I2, …")],
    record: RecordOpt = None,
    as_of: AsOfOpt = None,
    scopes: ScopesOpt = "engine",
) -> None:
    """An incident of the run: trigger, timeline, root cause, re-enabling."""
    with user_errors():
        report = make_report(run, record, as_of, _scopes(scopes))
        found = next((i for i in report.incidents if i.id == incident_id), None)
        if found is None:
            known = ", ".join(i.id for i in report.incidents) or "none"
            raise ReportError(
                f"incident {incident_id!r}", f"run {run} has incidents: {known}"
            )
    typer.echo(render_incident_markdown(found), nl=False)
