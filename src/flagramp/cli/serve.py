"""`flagramp serve`: the HTTP server (uvicorn), on FLAGRAMP_DATABASE_URL; with
`--controller`, the plan controller too (in a thread of the same process,
ticking while it holds the store's lease: run it on every replica, one acts).

`--workers N` runs N uvicorn worker processes on one socket, each a replica of
its own: its own connections, change hub (polling on SQLite, LISTEN/NOTIFY on
PostgreSQL) and streams, and, with `--controller`, its own controller loop of
which the lease lets one act. The parent opens (and migrates) the store once
before the workers start, so that they do not race to create it; SQLite is
safe with several processes (WAL, writers wait up to 30 s for each other), an
in-memory SQLite database is not (each worker would have its own) and is
refused. Without FLAGRAMP_SESSION_KEY the workers share one random session
key, so that a dashboard login holds whichever worker answers.
"""

from __future__ import annotations

import dataclasses
import os
import secrets
from typing import Annotated

import typer
import uvicorn
from fastapi import FastAPI
from sqlalchemy.engine import make_url

from flagramp.cli.connect import open_store
from flagramp.cli.output import user_errors
from flagramp.core.errors import StoreError
from flagramp.server.app import create_app
from flagramp.server.settings import ServerSettings
from flagramp.server.uvicorn_protocol import HTTP_PROTOCOL

#: How `serve` tells its worker processes to run the controller: the interval.
WORKER_CONTROLLER = "FLAGRAMP_SERVE_CONTROLLER_INTERVAL"
#: How long a worker may take to start, or to answer the supervisor's check.
WORKER_START_SECONDS = 60
#: The session key variable (shared by the workers).
SESSION_KEY = "FLAGRAMP_SESSION_KEY"


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
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            max=64,
            metavar="N",
            help="Worker processes, each a replica (any store but in-memory SQLite).",
        ),
    ] = 1,
    access_log: Annotated[
        bool,
        typer.Option(
            help="A line per answered request on stderr (method, path, status).",
        ),
    ] = True,
) -> None:
    """Serve /api/v1, /flipper/api, /dashboard and /metrics."""
    with user_errors():  # a setting from the environment that is wrong
        settings = dataclasses.replace(
            ServerSettings.from_env(),
            controller=controller,
            controller_interval=interval,
        )
    if workers == 1:
        with user_errors():
            app = create_app(settings, store=open_store())
        # Rationale: uvicorn's access log shows method, path and status, never
        # headers, so tokens (sent only as headers) are never logged.
        uvicorn.run(
            app,
            host=host,
            port=port,
            http=HTTP_PROTOCOL,
            log_level="info",
            access_log=access_log,
            server_header=False,
        )
        return
    with user_errors():
        store = open_store()  # migrated once, here, before the workers race to
        _check_shareable(store.engine.url.render_as_string(hide_password=False))
        store.engine.dispose()
    os.environ.setdefault(SESSION_KEY, secrets.token_urlsafe(32))
    if controller:
        os.environ[WORKER_CONTROLLER] = str(interval)
    else:
        os.environ.pop(WORKER_CONTROLLER, None)
    uvicorn.run(
        "flagramp.cli.serve:worker_app",
        factory=True,
        workers=workers,
        host=host,
        port=port,
        http=HTTP_PROTOCOL,
        log_level="info",
        access_log=access_log,
        server_header=False,
        # A worker imports flagramp and opens the store before it answers the
        # supervisor: seconds on a busy machine, past uvicorn's 5 s default,
        # after which the supervisor kills and restarts it, again and again.
        timeout_worker_healthcheck=WORKER_START_SECONDS,
    )


def worker_app() -> FastAPI:
    """The app of one worker process (`serve --workers N`), configured by the
    variables the parent set."""
    interval = os.environ.get(WORKER_CONTROLLER)
    settings = dataclasses.replace(
        ServerSettings.from_env(),
        controller=interval is not None,
        controller_interval=float(interval or 60.0),
    )
    return create_app(settings, store=open_store())


def _check_shareable(url: str) -> None:
    """Refuse a database that several processes cannot share."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return
    database = parsed.database or ""
    if database in ("", ":memory:") or "mode=memory" in str(parsed.query):
        raise StoreError(
            "an in-memory SQLite database cannot be shared by several workers; "
            "use a file or PostgreSQL, or --workers 1"
        )
