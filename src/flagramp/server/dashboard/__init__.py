"""`/dashboard`: server-rendered pages people act from (Jinja2 + htmx, uPlot).

`install(app, settings, runs)` adds the routes, the static files (htmx and
uPlot vendored from npm, see `static/vendor/VENDORED.md`) and the handlers
that send a browser without a session to the login page. The routes are left
out of the OpenAPI document and so out of the permission matrix: each page
offers what the viewer's token may do on the matching `/api/v1` route
(`offers`).
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI, Request
from starlette.responses import RedirectResponse, Response
from starlette.staticfiles import StaticFiles

from flagramp.server.dashboard import (
    catalog_pages,
    flag_pages,
    login,
    run_pages,
    run_stream,
)
from flagramp.server.dashboard.access import (
    DashboardState,
    FormRefused,
    LoginNeeded,
    dashboard_state,
)
from flagramp.server.dashboard.rendering import Pages
from flagramp.server.dashboard.runs_port import RunsPort
from flagramp.server.dashboard.session import SessionCodec
from flagramp.server.settings import ServerSettings

PREFIX = "/dashboard"

__all__ = ["PREFIX", "DashboardState", "RunsPort", "install"]

_home = APIRouter(include_in_schema=False)


@_home.get("/")
def home(request: Request) -> Response:
    """The runs when the server has them, else the flags."""
    target = "runs" if dashboard_state(request).runs is not None else "flags"
    return RedirectResponse(f"{PREFIX}/{target}", status_code=303)


def install(app: FastAPI, settings: ServerSettings, runs: RunsPort | None) -> None:
    """Serve the dashboard from `app` under `/dashboard`."""
    app.state.dashboard = DashboardState(
        sessions=SessionCodec.from_setting(settings.session_key),
        pages=Pages(),
        runs=runs,
    )
    for router in (
        _home,
        login.router,
        flag_pages.router,
        catalog_pages.router,
        run_pages.router,
        run_stream.router,
    ):
        app.include_router(router, prefix=PREFIX)
    app.mount(
        f"{PREFIX}/static",
        StaticFiles(packages=[("flagramp.server.dashboard", "static")]),
        name="dashboard-static",
    )

    async def on_login_needed(request: Request, exc: Exception) -> Response:
        if request.headers.get("hx-request") == "true":
            return Response(status_code=401, headers={"hx-redirect": f"{PREFIX}/login"})
        return RedirectResponse(f"{PREFIX}/login", status_code=303)

    async def on_form_refused(request: Request, exc: Exception) -> Response:
        return dashboard_state(request).pages.render(
            "form_refused.html", {"who": None, "reason": str(exc)}, status=403
        )

    app.add_exception_handler(LoginNeeded, on_login_needed)
    app.add_exception_handler(FormRefused, on_form_refused)
