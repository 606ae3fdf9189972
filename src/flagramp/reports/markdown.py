"""The release report as Markdown, laid out like the seed release plans.

`render_markdown(report, charts=...)` is a pure function of the report; charts
are referenced as files (`charts/rollout.svg`) that the caller writes beside it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from flagramp.reports.model import IncidentReport, ReleaseReport
from flagramp.reports.templating import markdown_environment

#: Three or more newlines: the templates' blank lines collapse to one.
_BLANK_RUNS = re.compile(r"\n{3,}")


def render_markdown(
    report: ReleaseReport, charts: Mapping[str, str] | None = None
) -> str:
    """The report as Markdown; `charts` maps chart names to relative paths."""
    paths = dict(charts or {})
    # Each stage's guard charts go under its results, as in the HTML.
    guards: dict[tuple[int, int], list[dict[str, str]]] = {}
    for series in report.charts.guards:
        name = f"guard-p{series.phase + 1}-s{series.stage + 1}-{series.criterion}"
        path = paths.get(name)
        found = guards.setdefault((series.phase, series.stage), [])
        if path is not None and path not in {g["path"] for g in found}:
            alt = f"{series.criterion} ({series.metric}) at this stage over time"
            found.append({"alt": alt, "path": path})
    template = markdown_environment().get_template("report.md.j2")
    text = template.render(r=report, charts=paths, guard_charts=guards)
    return _BLANK_RUNS.sub("\n\n", text).strip() + "\n"


def render_incident_markdown(incident: IncidentReport) -> str:
    """One incident as Markdown, as the report shows it."""
    template = markdown_environment().get_template("incident.md.j2")
    text = template.render(incident=incident)
    return _BLANK_RUNS.sub("\n\n", text).strip() + "\n"
