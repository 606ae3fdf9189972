"""`flagramp eval`."""

from __future__ import annotations

import typer


def register_eval(app: typer.Typer) -> None:
    """Add `eval` to the app."""
