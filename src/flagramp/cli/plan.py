"""`flagramp plan …`: validate, lint, show, schema, new, diff."""

from __future__ import annotations

import typer

plan_app = typer.Typer(
    help="Release plans: validate, lint, show, diff.", no_args_is_help=True
)
