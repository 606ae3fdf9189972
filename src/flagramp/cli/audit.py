"""`flagramp audit verify` and `rotate-key`: the audit log's keyed hash chain."""

from __future__ import annotations

import typer

from flagramp.cli.commands import App
from flagramp.cli.options import JsonOption, open_store
from flagramp.cli.output import (
    EXIT_ERROR,
    console,
    emit_json,
    err_console,
    say_error,
    styled,
    user_errors,
)
from flagramp.cli.text import count

audit_app = App(help="The audit log of every change.")


@audit_app.command("verify")
def verify(as_json: JsonOption = False) -> None:
    """Check the keyed hash chain and replay it against every flag and segment;
    name every row that was edited, deleted or cut, and every differing flag."""
    with user_errors():
        report = open_store().verify_audit()
    if as_json:
        emit_json(
            {
                "ok": report.ok,
                "rows": report.rows,
                "head": report.head,
                "key_ids": list(report.key_ids),
                "problems": [
                    {"row": p.row_id, "subject": p.subject, "detail": p.detail}
                    for p in report.problems
                ],
                "limits": list(report.limits),
            }
        )
    else:
        for problem in report.problems:
            say_error(str(problem))
        for limit in report.limits:
            err_console.print(styled("note:", "yellow"), limit)
        if report.ok:
            chain = "chain intact" if not report.limits else "see the notes above"
            console.print(
                f"audit log verifies: {count(report.rows, 'row')}, {chain}, flags "
                f"and segments match their history; head {report.head[:16]}"
            )
    if not report.ok:
        raise typer.Exit(EXIT_ERROR)


@audit_app.command("rotate-key")
def rotate_key() -> None:
    """Start signing new audit rows with a fresh key; old keys stay in the key file
    so that older rows still verify."""
    with user_errors():
        store = open_store()
        new_id = store.keyring.rotate()
    console.print(
        f"new audit key {new_id} in {store.keyring.source}; "
        "older keys are kept for verifying"
    )
