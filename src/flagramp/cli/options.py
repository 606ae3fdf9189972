"""Options shared by commands, and opening the store they work on."""

from __future__ import annotations

import getpass
import os
from typing import Annotated

import typer

from flagramp.store import Author, SqlFlagStore
from flagramp.store import open_store as open_configured_store

EnvOption = Annotated[
    str,
    typer.Option(
        "--env", "-e", envvar="FLAGRAMP_ENV", help="Environment (production, dev, …)."
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]
WhoOption = Annotated[
    str | None,
    typer.Option("--who", envvar="FLAGRAMP_USER", help="Who makes the change (audit)."),
]
WhyOption = Annotated[
    str, typer.Option("--why", "-m", help="Why: the reason recorded in the audit log.")
]


def author(who: str | None, why: str) -> Author:
    """The audit identity: --who, else FLAGRAMP_USER, else the login name."""
    if who:
        return Author(who, why)
    try:
        login = getpass.getuser()
    except (KeyError, OSError):
        login = os.environ.get("USER", "unknown")
    return Author(login, why)


def open_store() -> SqlFlagStore:
    """The store at FLAGRAMP_DATABASE_URL (SQLite flagramp.db by default)."""
    return open_configured_store()
