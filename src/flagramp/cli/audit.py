"""`flagramp audit verify`: check the audit log's hash chain."""

from __future__ import annotations

import typer

from flagramp.cli.options import JsonOption, open_store
from flagramp.cli.output import (
    EXIT_ERROR,
    console,
    emit_json,
    err_console,
    user_errors,
)

audit_app = typer.Typer(help="The audit log of every change.", no_args_is_help=True)


@audit_app.command("verify")
def verify(as_json: JsonOption = False) -> None:
    """Recompute the hash chain; name every row that was edited, deleted or cut."""
    with user_errors():
        store = open_store()
        problems = store.verify_audit()
        count = len(store.audit_entries())
    if as_json:
        emit_json(
            {
                "ok": not problems,
                "rows": count,
                "problems": [{"row": p.row_id, "detail": p.detail} for p in problems],
            }
        )
    elif problems:
        for problem in problems:
            err_console.print(f"[bold red]error:[/] {problem}")
    else:
        console.print(f"audit log verifies: {count} rows, chain intact")
    if problems:
        raise typer.Exit(EXIT_ERROR)
