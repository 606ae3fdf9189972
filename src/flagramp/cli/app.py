"""The `flagramp` command: sub-applications registered in one place."""

from __future__ import annotations

import sys
from importlib import metadata
from typing import Annotated

import typer

from flagramp.cli.commands import App, Group, LazyCommand

# Each command's module is imported when the command runs (or shows its help),
# not when `flagramp` starts: the modules bring the engine, the server, scipy
# and matplotlib along, seconds of imports that `flagramp token list` does not
# need. The help line is written here so that `flagramp --help` imports
# nothing; tests/cli/test_lazy_commands.py checks each against its command.

#: The root's commands in the order `flagramp --help` lists them.
COMMANDS = (
    LazyCommand(
        "controller",
        "flagramp.cli.controller:controller",
        "Run the controller: every active run observed, decided, written.",
    ),
    LazyCommand(
        "eval",
        "flagramp.cli.evaluate:evaluate",
        "Evaluate a flag for an actor and say which gate decided, and why.",
    ),
    LazyCommand(
        "tour",
        "flagramp.cli.tour:tour",
        "Import seed 000's VAOS toggles and show how veterans evaluate, and why.",
    ),
    LazyCommand(
        "demo",
        "flagramp.cli.demo:demo",
        "Run a release plan in virtual time against simulated traffic (with "
        "--serve, watched on the dashboard; with --live, in real time against "
        "the example app).",
    ),
    LazyCommand(
        "serve",
        "flagramp.cli.serve:serve",
        "Serve /api/v1, /flipper/api, /dashboard and /metrics.",
    ),
    LazyCommand(
        "promote",
        "flagramp.cli.promote:promote",
        "Promote FROM's flags into TO as a run: backup, snapshot, copy, verify, "
        "go/no-go, and restore on No-Go.",
    ),
    LazyCommand(
        "demo-live",
        "flagramp.cli.demo_live:demo_live",
        "Run a short plan in real time against the example app, through the server.",
        hidden=True,
    ),
    LazyCommand(
        "flags",
        "flagramp.cli.flags:flags_app",
        "Flags: show and change them.",
    ),
    LazyCommand(
        "plan",
        "flagramp.cli.run:plan_app",
        "Release plans: validate, lint, show, diff, import from Markdown.",
    ),
    LazyCommand(
        "report",
        "flagramp.cli.report:report_app",
        "Release reports: the plan filled in with what happened.",
    ),
    LazyCommand(
        "audit",
        "flagramp.cli.audit:audit_app",
        "The audit log of every change.",
    ),
    LazyCommand(
        "db",
        "flagramp.cli.db:db_app",
        "The database: migrations.",
    ),
    LazyCommand(
        "backup",
        "flagramp.cli.backup:backup_app",
        "Backups: the whole store to a file, and environment snapshots.",
    ),
    LazyCommand(
        "flipper",
        "flagramp.cli.flipper:flipper_app",
        "Flipper's own tables: inspect them before adopting, release them.",
    ),
    LazyCommand(
        "token",
        "flagramp.cli.token:token_app",
        "API tokens: create, list, revoke.",
    ),
    LazyCommand(
        "webhook",
        "flagramp.cli.webhooks:webhook_app",
        "Webhooks that receive notices (Slack or signed JSON).",
    ),
    LazyCommand(
        "notifications",
        "flagramp.cli.notifications:notifications_app",
        "Notices sent by webhook and e-mail, and their log.",
    ),
    LazyCommand(
        "run",
        "flagramp.cli.run:run_app",
        "Plan runs: where they are, what they wait for, and commands.",
    ),
    LazyCommand(
        "events",
        "flagramp.cli.controller:events_app",
        "Evidence for runs: events pushed into their windows.",
    ),
)


class RootGroup(Group):
    """`flagramp`: every command loaded when it is called (`COMMANDS`)."""

    lazy_commands = COMMANDS


app = App(
    name="flagramp",
    help="Staged feature-flag rollouts from written release plans.",
    pretty_exceptions_enable=False,
    add_completion=False,
    cls=RootGroup,
)


def _print_version(asked: bool) -> None:
    if asked:
        typer.echo(f"flagramp {metadata.version('flagramp')}")
        raise typer.Exit()


@app.callback()
def root(
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            is_eager=True,
            callback=_print_version,
            help="Print flagramp's version and exit.",
        ),
    ] = False,
) -> None:
    """Staged feature-flag rollouts from written release plans."""


def main() -> None:
    """Console-script entry point."""
    # A character the terminal's encoding cannot show comes out as an escape
    # instead of a UnicodeEncodeError.
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="backslashreplace")
    app()
