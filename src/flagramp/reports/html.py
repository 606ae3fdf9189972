"""The release report as one self-contained HTML file.

Inline CSS, charts as inline SVG, no script and no remote resource: the file
opens with no network. Autoescape is on, so every text from the plan, the log
or people (a go/no-go comment) is shown as text, never read as markup.
"""

from __future__ import annotations

from collections.abc import Mapping

from markupsafe import Markup

from flagramp.reports.model import ReleaseReport
from flagramp.reports.templating import html_environment


def render_html(report: ReleaseReport, charts: Mapping[str, str] | None = None) -> str:
    """The report as HTML; `charts` are SVG texts by name (`render_charts`)."""
    svgs = dict(charts or {})
    by_stage: dict[tuple[int, int], list[tuple[str, Markup]]] = {}
    for series in report.charts.guards:
        name = f"guard-p{series.phase + 1}-s{series.stage + 1}-{series.criterion}"
        svg = svgs.get(name)
        if svg is not None:
            entry = (f"{series.criterion} ({series.metric})", Markup(svg))
            found = by_stage.setdefault((series.phase, series.stage), [])
            if entry[0] not in {e[0] for e in found}:
                found.append(entry)
    latency = [
        (name.removeprefix("latency-"), Markup(svg))
        for name, svg in sorted(svgs.items())
        if name.startswith("latency-")
    ]
    template = html_environment().get_template("report.html.j2")
    return template.render(
        r=report, charts=svgs, stage_charts=by_stage, latency_charts=latency
    )
