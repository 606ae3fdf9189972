"""`flagramp flags …`."""

from __future__ import annotations

import typer

flags_app = typer.Typer(no_args_is_help=True)
