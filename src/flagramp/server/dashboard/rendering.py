"""Pages from Jinja2 templates (autoescaped), under a strict CSP.

Every page is rendered with the viewer, their CSRF nonce and what they are
offered (`offers`). Pages load only the dashboard's own scripts and styles
(`static/`): the CSP allows nothing else, no inline script and no inline style.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import jinja2
from starlette.responses import HTMLResponse

#: What a dashboard page may load: its own files, nothing inline, no frames.
PAGE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)


def make_environment() -> jinja2.Environment:
    """The templates of `server/dashboard/templates`, autoescaped."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("flagramp.server.dashboard", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["words"] = lambda value: str(value).replace("_", " ")
    return env


class Pages:
    """Renders templates into HTML answers."""

    def __init__(self, environment: jinja2.Environment | None = None) -> None:
        self.environment = environment or make_environment()

    def render(
        self,
        template: str,
        context: Mapping[str, Any],
        *,
        status: int = 200,
        headers: Mapping[str, str] | None = None,
    ) -> HTMLResponse:
        html = self.environment.get_template(template).render(**context)
        return HTMLResponse(
            html,
            status_code=status,
            headers={"content-security-policy": PAGE_CSP, **(headers or {})},
        )
