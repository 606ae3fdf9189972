"""`flagramp serve`: the HTTP server (uvicorn), on FLAGRAMP_DATABASE_URL; with
`--controller`, the plan controller too (in a thread of the same process,
ticking while it holds the store's lease: run it on every replica, one acts)."""

from __future__ import annotations

import dataclasses
from typing import Annotated

import typer
import uvicorn

from flagramp.cli.commands import App
from flagramp.cli.connect import open_store
from flagramp.cli.output import user_errors
from flagramp.server.app import create_app
from flagramp.server.settings import ServerSettings


def serve(
    host: Annotated[
        str, typer.Option(metavar="HOST", help="Address to listen on.")
    ] = "127.0.0.1",
    port: Annotated[
        int, typer.Option(min=0, max=65535, metavar="PORT", help="Port to listen on.")
    ] = 8000,
    controller: Annotated[
        bool,
        typer.Option(
            "--controller", help="Run the plan controller inside the server too."
        ),
    ] = False,
    interval: Annotated[
        float,
        typer.Option(
            metavar="SECONDS", min=0.1, help="With --controller: between ticks."
        ),
    ] = 60.0,
) -> None:
    """Serve /api/v1, /flipper/api, /dashboard and /metrics."""
    settings = dataclasses.replace(
        ServerSettings.from_env(), controller=controller, controller_interval=interval
    )
    with user_errors():
        app = create_app(settings, store=open_store())
    # Rationale: uvicorn's access log shows method, path and status, never
    # headers, so tokens (sent only as headers) are never logged.
    uvicorn.run(app, host=host, port=port, log_level="info", server_header=False)


def register_serve(app: App) -> None:
    """Add `serve` to the app."""
    app.command("serve")(serve)
