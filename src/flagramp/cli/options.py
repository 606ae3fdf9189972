"""Options shared by commands, and opening the store they work on."""

from __future__ import annotations

import getpass
import os
from typing import Annotated

import typer

from flagramp.cli import connect
from flagramp.cli.output import fail
from flagramp.store import Author, FlagStore

EnvOption = Annotated[
    str,
    typer.Option(
        "--env",
        "-e",
        envvar="FLAGRAMP_ENV",
        metavar="ENV",
        help="Environment (production, dev, …).",
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]
WhoOption = Annotated[
    str | None,
    typer.Option(
        "--who",
        envvar="FLAGRAMP_USER",
        metavar="NAME",
        help="Who makes the change (audit).",
    ),
]
WhyOption = Annotated[
    str,
    typer.Option(
        "--why",
        "-m",
        metavar="TEXT",
        help="Why: the reason recorded in the audit log.",
    ),
]


def author(who: str | None, why: str) -> Author:
    """The audit identity: --who, else FLAGRAMP_USER, else the login name."""
    if who:
        return Author(who, why)
    try:
        login = getpass.getuser()
    except (KeyError, OSError):
        login = os.environ.get("USER", "unknown")
    if not login.isprintable():  # control characters, or bytes that were not UTF-8
        fail(
            f"your login name {login!r} is not printable UTF-8 text; say who you "
            "are with --who or FLAGRAMP_USER"
        )
    return Author(login, why)


def open_store() -> FlagStore:
    """The store at FLAGRAMP_DATABASE_URL (SQLite flagramp.db by default); a
    database that cannot be reached raises StoreUnavailable with one sentence."""
    return connect.open_store()
