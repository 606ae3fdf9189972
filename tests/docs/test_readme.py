"""Every `flagramp …` line in the README's shell examples is a real command.

Each line is parsed by the CLI itself (without running it): the command path must
exist, its options must be known and its required arguments given, so a renamed
command or option shows here before a new user meets it.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import typer.main
from typer._click import Command, Context
from typer._click.exceptions import UsageError
from typer.core import TyperGroup

from flagramp.cli.app import app

README = Path(__file__).parents[2] / "README.md"
_BLOCK = re.compile(r"```sh\n(.*?)```", re.S)


def _command_lines() -> list[str]:
    lines: list[str] = []
    for block in _BLOCK.findall(README.read_text(encoding="utf-8")):
        for line in block.splitlines():
            text = line.split(" #", 1)[0].strip()
            if text.startswith("flagramp "):
                lines.append(text)
    return lines


LINES = _command_lines()


def _parse(argv: list[str]) -> Context:
    # Typer carries its own copy of click: its classes, not click's, are the ones.
    command: Command = typer.main.get_command(app)
    ctx = command.make_context("flagramp", list(argv[:1]), resilient_parsing=True)
    words = list(argv)
    while isinstance(command, TyperGroup) and words:
        name, *words = words
        sub = command.get_command(ctx, name)
        assert sub is not None, f"no command {name!r} in {' '.join(argv)!r}"
        command = sub
    return command.make_context(command.name or "", words)


def test_the_readme_shows_commands() -> None:
    assert len(LINES) >= 15


@pytest.mark.parametrize(
    "argv",
    [["run", "approv", "R1"], ["run", "approve", "R1", "--lunch"], ["plan", "start"]],
)
def test_a_wrong_command_does_not_parse(argv: list[str]) -> None:
    with pytest.raises((AssertionError, UsageError)):
        _parse(argv)


@pytest.mark.parametrize("line", LINES)
def test_each_readme_command_parses(line: str) -> None:
    argv = [w for w in shlex.split(line)[1:] if w not in (">", "|")]
    _parse(argv)
