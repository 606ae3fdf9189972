"""The root's commands load when called: `flagramp --help` imports none of
them, and the line it shows for each is the command's own."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import typer.main

from flagramp.cli.app import COMMANDS, app
from flagramp.cli.commands import Group, LazyCommand


def _first_paragraph(text: str | None) -> str:
    return " ".join((text or "").split("\n\n")[0].split())


@pytest.mark.parametrize("lazy", COMMANDS, ids=lambda c: c.name)
def test_each_written_line_is_the_commands_own(lazy: LazyCommand) -> None:
    command = lazy.load()
    assert command.name == lazy.name
    assert command.hidden == lazy.hidden
    assert " ".join(lazy.help.split()) == _first_paragraph(command.help)


def test_the_root_help_is_the_same_before_and_after_every_command_loads() -> None:
    root = typer.main.get_command(app)
    assert isinstance(root, Group)
    context = root.make_context("flagramp", ["--help"], resilient_parsing=True)
    lazy_help = root.get_help(context)
    assert not root.commands  # nothing loaded to list them
    for name in root.list_commands(context):
        root.get_command(context, name)
    assert set(root.commands) == {c.name for c in COMMANDS}
    assert root.get_help(context) == lazy_help
    assert "demo-live" not in lazy_help  # hidden, as before


PROBE = """
import json, sys
from flagramp.cli.app import app
try:
    app(sys.argv[1:], prog_name="flagramp")
except SystemExit:
    pass
print(json.dumps(sorted(sys.modules)))
"""


@pytest.mark.parametrize(
    ("argv", "absent"),
    [
        (["--help"], ["flagramp.engine", "flagramp.server", "fastapi", "scipy"]),
        (["token", "--help"], ["flagramp.engine", "fastapi", "scipy", "matplotlib"]),
    ],
)
def test_a_command_imports_only_what_it_needs(
    argv: list[str], absent: list[str]
) -> None:
    shown = subprocess.run(
        [sys.executable, "-c", PROBE, *argv],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    modules = json.loads(shown.stdout.splitlines()[-1])
    assert "Usage: flagramp" in shown.stdout
    for name in absent:
        assert name not in modules, f"{' '.join(argv)} imported {name}"
