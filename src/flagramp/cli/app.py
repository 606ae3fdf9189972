"""The `flagramp` command: sub-applications registered in one place."""

from __future__ import annotations

import sys
from importlib import metadata
from typing import Annotated

import typer

from flagramp.cli.audit import audit_app
from flagramp.cli.backup import backup_app
from flagramp.cli.commands import App
from flagramp.cli.controller import register_controller
from flagramp.cli.db import db_app
from flagramp.cli.demo import register_demo
from flagramp.cli.demo_live import register_demo_live
from flagramp.cli.evaluate import register_eval
from flagramp.cli.flags import flags_app
from flagramp.cli.flipper import flipper_app
from flagramp.cli.notifications import notifications_app
from flagramp.cli.plan import plan_app
from flagramp.cli.promote import register_promote
from flagramp.cli.report import report_app
from flagramp.cli.run import register_plan_start, run_app
from flagramp.cli.serve import register_serve
from flagramp.cli.token import token_app
from flagramp.cli.tour import register_tour
from flagramp.cli.webhooks import webhook_app

app = App(
    name="flagramp",
    help="Staged feature-flag rollouts from written release plans.",
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(flags_app, name="flags")
app.add_typer(plan_app, name="plan")
app.add_typer(report_app, name="report")
app.add_typer(audit_app, name="audit")
app.add_typer(db_app, name="db")
app.add_typer(backup_app, name="backup")
app.add_typer(flipper_app, name="flipper")
app.add_typer(token_app, name="token")
app.add_typer(webhook_app, name="webhook")
app.add_typer(notifications_app, name="notifications")
app.add_typer(run_app, name="run")
register_plan_start(plan_app)
register_controller(app)
register_eval(app)
register_tour(app)
register_demo(app)
register_serve(app)
register_promote(app)
register_demo_live(app)


def _print_version(asked: bool) -> None:
    if asked:
        typer.echo(f"flagramp {metadata.version('flagramp')}")
        raise typer.Exit()


@app.callback()
def root(
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            is_eager=True,
            callback=_print_version,
            help="Print flagramp's version and exit.",
        ),
    ] = False,
) -> None:
    """Staged feature-flag rollouts from written release plans."""


def main() -> None:
    """Console-script entry point."""
    # A character the terminal's encoding cannot show comes out as an escape
    # instead of a UnicodeEncodeError.
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="backslashreplace")
    app()
