"""Help, version and usage: what a newcomer sees first."""

from __future__ import annotations

import re
from importlib import metadata

import pytest
from typer._click import Command, Context
from typer.core import TyperGroup
from typer.main import get_command
from typer.testing import CliRunner

from flagramp.cli.app import app

runner = CliRunner()


def _command_paths() -> list[list[str]]:
    """Every command and group of the app, as argument lists (asked through
    `list_commands`/`get_command`: the root loads its commands when asked)."""
    paths: list[list[str]] = []
    root = get_command(app)
    stack: list[tuple[list[str], Command]] = [([], root)]
    while stack:
        path, command = stack.pop()
        paths.append(path)
        if isinstance(command, TyperGroup):
            context = Context(command, info_name=path[-1] if path else "flagramp")
            for name in command.list_commands(context):
                sub = command.get_command(context, name)
                assert sub is not None, name
                stack.append(([*path, name], sub))
    return sorted(paths)


def test_every_command_is_walked() -> None:
    # 93 at this commit; a walk that sees only the loaded commands finds 1.
    assert len(_command_paths()) >= 90


@pytest.mark.parametrize("args", [[], ["flags"], ["flags", "segment"], ["plan"]])
def test_a_bare_group_prints_its_help_and_exits_0(args: list[str]) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 0
    assert result.stdout.startswith(f"Usage: {' '.join(['flagramp', *args])} ")
    assert "Commands:" in result.stdout
    assert result.stderr == ""


def test_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert (result.exit_code, result.stdout) == (
        0,
        f"flagramp {metadata.version('flagramp')}\n",
    )


@pytest.mark.parametrize("args", _command_paths(), ids=" ".join)
def test_help_shows_real_metavariables(args: list[str]) -> None:
    result = runner.invoke(app, [*args, "--help"], env={"COLUMNS": "120"})
    assert result.exit_code == 0, result.output
    assert not re.search(
        r"<(bool|str|int|path|list\[str\])>|\{[a-z_]+\}", result.stdout
    )


def test_help_of_a_command_names_arguments_and_options_as_written() -> None:
    result = runner.invoke(app, ["flags", "percent", "--help"], env={"COLUMNS": "120"})
    assert result.stdout.startswith(
        "Usage: flagramp flags percent [OPTIONS] KEY PERCENTAGE\n"
    )
    for line in ("  KEY ", "  PERCENTAGE ", "  --time ", "  -e, --env ENV ",
                 "  --who NAME ", "  -m, --why TEXT "):  # fmt: skip
        assert f"\n{line}" in result.stdout, line
    define = runner.invoke(app, ["flags", "segment", "define", "--help"]).stdout
    assert "Usage: flagramp flags segment define [OPTIONS] NAME RULES..." in define
    assert '"ehr in [oracle, cerner]"' in define  # help text is not markup
    validate = runner.invoke(app, ["plan", "validate", "--help"]).stdout
    assert "[OPTIONS] FILES...\n" in validate


def test_a_misspelt_command_at_the_root_is_suggested() -> None:
    result = runner.invoke(app, ["tuor"])
    assert result.exit_code == 1
    assert result.stderr == (
        "error: no such command 'tuor'; did you mean 'tour'? (see 'flagramp --help')\n"
    )
