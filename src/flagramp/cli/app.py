"""The `flagramp` command: sub-applications registered in one place."""

from __future__ import annotations

import typer

from flagramp.cli.audit import audit_app
from flagramp.cli.db import db_app
from flagramp.cli.evaluate import register_eval
from flagramp.cli.flags import flags_app
from flagramp.cli.plan import plan_app
from flagramp.cli.tour import register_tour

app = typer.Typer(
    name="flagramp",
    help="Staged feature-flag rollouts from written release plans.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(flags_app, name="flags")
app.add_typer(plan_app, name="plan")
app.add_typer(audit_app, name="audit")
app.add_typer(db_app, name="db")
register_eval(app)
register_tour(app)


def main() -> None:
    """Console-script entry point."""
    app()
