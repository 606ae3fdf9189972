"""`flagramp tour`."""

from __future__ import annotations

import typer


def register_tour(app: typer.Typer) -> None:
    """Add `tour` to the app."""
