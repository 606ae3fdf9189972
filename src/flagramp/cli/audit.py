"""`flagramp audit verify`: check the audit log's hash chain."""

from __future__ import annotations

import typer

from flagramp.cli.commands import App
from flagramp.cli.options import JsonOption, open_store
from flagramp.cli.output import EXIT_ERROR, console, emit_json, say_error, user_errors
from flagramp.cli.text import count

audit_app = App(help="The audit log of every change.")


@audit_app.command("verify")
def verify(as_json: JsonOption = False) -> None:
    """Recompute the hash chain; name every row that was edited, deleted or cut."""
    with user_errors():
        store = open_store()
        problems = store.verify_audit()
        rows = len(store.audit_entries())
    if as_json:
        emit_json(
            {
                "ok": not problems,
                "rows": rows,
                "problems": [{"row": p.row_id, "detail": p.detail} for p in problems],
            }
        )
    elif problems:
        for problem in problems:
            say_error(str(problem))
    else:
        console.print(f"audit log verifies: {count(rows, 'row')}, chain intact")
    if problems:
        raise typer.Exit(EXIT_ERROR)
