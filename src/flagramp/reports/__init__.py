"""flagramp.reports: the release plan filled in with what happened.

`collect(record, windows, as_of=...)` builds a `ReleaseReport` from a run's
record (plan text, log, incidents: `RunRecord`) and its stored windows;
`render_markdown` and `render_html` turn it into text, `render_charts` into
SVG; `find_placeholders` checks that no template placeholder remains.
"""

from flagramp.reports.charts import render_charts
from flagramp.reports.collect import collect
from flagramp.reports.context import Scopes, WindowSource
from flagramp.reports.html import render_html
from flagramp.reports.markdown import render_markdown
from flagramp.reports.model import Pending, ReleaseReport
from flagramp.reports.placeholders import Placeholder, find_placeholders
from flagramp.reports.run_record import RunEvent, RunRecord

__all__ = [
    "Pending",
    "Placeholder",
    "ReleaseReport",
    "RunEvent",
    "RunRecord",
    "Scopes",
    "WindowSource",
    "collect",
    "find_placeholders",
    "render_charts",
    "render_html",
    "render_markdown",
]
