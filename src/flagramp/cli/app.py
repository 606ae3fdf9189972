"""The `flagramp` command: sub-applications registered in one place."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from importlib import metadata
from typing import Annotated

import typer
import typer.main
from typer.core import TyperCommand

from flagramp.cli.commands import App, Group, LazyCommand

# Each command's module is imported when the command runs (or shows its help),
# not when `flagramp` starts: the modules bring the engine, the server, scipy
# and matplotlib along, seconds of imports that `flagramp token list` does not
# need. The help line is written here so that `flagramp --help` imports
# nothing; tests/cli/test_lazy_commands.py checks each against its command.


def _command(
    name: str, function: Callable[..., object], *, hidden: bool = False
) -> TyperCommand:
    """One function as a command of its own name."""
    holder = App()
    holder.command(name, hidden=hidden)(function)
    command = typer.main.get_command(holder)
    assert isinstance(command, TyperCommand)
    return command


def _group(name: str, sub_app: typer.Typer) -> Group:
    group = typer.main.get_group(sub_app)  # a group even with one command
    assert isinstance(group, Group)
    group.name = name
    return group


@functools.cache
def _controller() -> TyperCommand:
    from flagramp.cli.controller import controller

    return _command("controller", controller)


@functools.cache
def _eval() -> TyperCommand:
    from flagramp.cli.evaluate import evaluate

    return _command("eval", evaluate)


@functools.cache
def _tour() -> TyperCommand:
    from flagramp.cli.tour import tour

    return _command("tour", tour)


@functools.cache
def _demo() -> TyperCommand:
    from flagramp.cli.demo import demo

    return _command("demo", demo)


@functools.cache
def _serve() -> TyperCommand:
    from flagramp.cli.serve import serve

    return _command("serve", serve)


@functools.cache
def _promote() -> TyperCommand:
    from flagramp.cli.promote import promote

    return _command("promote", promote)


@functools.cache
def _demo_live() -> TyperCommand:
    from flagramp.cli.demo_live import demo_live

    return _command("demo-live", demo_live, hidden=True)


@functools.cache
def _flags() -> Group:
    from flagramp.cli.flags import flags_app

    return _group("flags", flags_app)


@functools.cache
def _plan() -> Group:
    from flagramp.cli.plan import plan_app
    from flagramp.cli.run import register_plan_start

    register_plan_start(plan_app)
    return _group("plan", plan_app)


@functools.cache
def _report() -> Group:
    from flagramp.cli.report import report_app

    return _group("report", report_app)


@functools.cache
def _audit() -> Group:
    from flagramp.cli.audit import audit_app

    return _group("audit", audit_app)


@functools.cache
def _db() -> Group:
    from flagramp.cli.db import db_app

    return _group("db", db_app)


@functools.cache
def _backup() -> Group:
    from flagramp.cli.backup import backup_app

    return _group("backup", backup_app)


@functools.cache
def _flipper() -> Group:
    from flagramp.cli.flipper import flipper_app

    return _group("flipper", flipper_app)


@functools.cache
def _token() -> Group:
    from flagramp.cli.token import token_app

    return _group("token", token_app)


@functools.cache
def _webhook() -> Group:
    from flagramp.cli.webhooks import webhook_app

    return _group("webhook", webhook_app)


@functools.cache
def _notifications() -> Group:
    from flagramp.cli.notifications import notifications_app

    return _group("notifications", notifications_app)


@functools.cache
def _run() -> Group:
    from flagramp.cli.run import run_app

    return _group("run", run_app)


@functools.cache
def _events() -> Group:
    from flagramp.cli.controller import events_app

    return _group("events", events_app)


#: The root's commands in the order `flagramp --help` lists them.
COMMANDS = (
    LazyCommand(
        "controller",
        _controller,
        "Run the controller: every active run observed, decided, written.",
    ),
    LazyCommand(
        "eval",
        _eval,
        "Evaluate a flag for an actor and say which gate decided, and why.",
    ),
    LazyCommand(
        "tour",
        _tour,
        "Import seed 000's VAOS toggles and show how veterans evaluate, and why.",
    ),
    LazyCommand(
        "demo",
        _demo,
        "Run a release plan in virtual time against simulated traffic (with "
        "--serve, watched on the dashboard; with --live, in real time against "
        "the example app).",
    ),
    LazyCommand(
        "serve", _serve, "Serve /api/v1, /flipper/api, /dashboard and /metrics."
    ),
    LazyCommand(
        "promote",
        _promote,
        "Promote FROM's flags into TO as a run: backup, snapshot, copy, verify, "
        "go/no-go, and restore on No-Go.",
    ),
    LazyCommand(
        "demo-live",
        _demo_live,
        "Run a short plan in real time against the example app, through the server.",
        hidden=True,
    ),
    LazyCommand("flags", _flags, "Flags: show and change them."),
    LazyCommand(
        "plan",
        _plan,
        "Release plans: validate, lint, show, diff, import from Markdown.",
    ),
    LazyCommand(
        "report", _report, "Release reports: the plan filled in with what happened."
    ),
    LazyCommand("audit", _audit, "The audit log of every change."),
    LazyCommand("db", _db, "The database: migrations."),
    LazyCommand(
        "backup",
        _backup,
        "Backups: the whole store to a file, and environment snapshots.",
    ),
    LazyCommand(
        "flipper",
        _flipper,
        "Flipper's own tables: inspect them before adopting, release them.",
    ),
    LazyCommand("token", _token, "API tokens: create, list, revoke."),
    LazyCommand(
        "webhook", _webhook, "Webhooks that receive notices (Slack or signed JSON)."
    ),
    LazyCommand(
        "notifications",
        _notifications,
        "Notices sent by webhook and e-mail, and their log.",
    ),
    LazyCommand(
        "run", _run, "Plan runs: where they are, what they wait for, and commands."
    ),
    LazyCommand(
        "events", _events, "Evidence for runs: events pushed into their windows."
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
