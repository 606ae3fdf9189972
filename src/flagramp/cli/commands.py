"""The Typer classes every flagramp command is built from.

`App` is `typer.Typer` with flagramp's defaults: plain help (no Rich markup, so
brackets in help text stay as written), real metavariables (`KEY`, `--env ENV`,
flags without a `<bool>`), and one boundary, `Group.main`, where whatever a command
raises becomes one line on stderr and exit code 1: usage errors, flagramp's own
errors, database and file failures, and, as a last resort, bugs.
"""

from __future__ import annotations

import functools
import importlib
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from difflib import get_close_matches
from typing import Any, ClassVar

import typer
import typer.main

# Typer vendors Click since 0.26; its exceptions are reachable only from there.
from typer._click import Command as ClickCommand
from typer._click import Context, HelpFormatter
from typer._click.exceptions import (
    ClickException,
    NoArgsIsHelpError,
    NoSuchOption,
    UsageError,
)
from typer._click.utils import make_default_short_help
from typer.core import TyperArgument, TyperCommand, TyperGroup, TyperOption
from typer.models import CommandFunctionType

from flagramp.cli.failures import describe
from flagramp.cli.output import EXIT_ERROR, say_error
from flagramp.cli.text import shown

#: Set to 1 to let an unexpected exception through with its traceback.
DEBUG_VARIABLE = "FLAGRAMP_DEBUG"


class Command(TyperCommand):
    """A command whose help and usage show metavariables: `KEY`, `[FILES]...`."""

    def __init__(self, name: str | None, **kwargs: Any) -> None:
        super().__init__(name, **kwargs)
        for param in self.params:
            if (isinstance(param, TyperArgument) and param.metavar is None) or (
                isinstance(param, TyperOption)
                and not param.is_flag
                and param.metavar is None
            ):
                param.metavar = (param.name or "value").upper()

    def collect_usage_pieces(self, ctx: Context) -> list[str]:
        pieces = [self.options_metavar] if self.options_metavar else []
        for param in self.get_params(ctx):
            if isinstance(param, TyperArgument):
                pieces.append(_usage_piece(param))
        return pieces

    def format_options(self, ctx: Context, formatter: HelpFormatter) -> None:
        arguments: list[tuple[str, str]] = []
        options: list[tuple[str, str]] = []
        for param in self.get_params(ctx):
            record = param.get_help_record(ctx)
            if record is None:
                continue
            if isinstance(param, TyperArgument):
                # Typer writes `key <str>`; the metavariable alone says it.
                arguments.append((str(param.metavar), record[1]))
            else:
                options.append(record)
        if arguments:
            with formatter.section("Arguments"):
                formatter.write_dl(arguments)
        if options:
            with formatter.section("Options"):
                formatter.write_dl(options)


def _usage_piece(param: TyperArgument) -> str:
    name = str(param.metavar)
    piece = name if param.required else f"[{name}]"
    return piece + ("..." if param.nargs != 1 else "")


@dataclass(frozen=True, slots=True)
class LazyCommand:
    """A command of a group, built (its module imported) only when it is
    called or its own help is asked. `target` is `module:attribute`: a
    `typer.Typer` becomes a group, a function a command; `help` is its line
    in the group's help."""

    name: str
    target: str
    help: str
    hidden: bool = False

    def load(self) -> ClickCommand:
        """The command (built once per process)."""
        return _built(self)


@functools.cache
def _built(lazy: LazyCommand) -> ClickCommand:
    module, _, attribute = lazy.target.partition(":")
    found = getattr(importlib.import_module(module), attribute)
    if isinstance(found, typer.Typer):
        group = typer.main.get_group(found)  # a group even with one command
        group.name = lazy.name
        return group
    holder = App()
    holder.command(lazy.name, hidden=lazy.hidden)(found)
    return typer.main.get_command(holder)


class Group(TyperGroup):
    """A group of commands; as the root, the boundary that turns every failure
    into one line and an exit code. A subclass may name `lazy_commands`."""

    lazy_commands: ClassVar[Sequence[LazyCommand]] = ()

    def list_commands(self, ctx: Context) -> list[str]:
        names = list(super().list_commands(ctx))
        return names + [c.name for c in self.lazy_commands if c.name not in names]

    def get_command(self, ctx: Context, cmd_name: str) -> ClickCommand | None:
        command = super().get_command(ctx, cmd_name)
        lazy = self._lazy(cmd_name) if command is None else None
        if lazy is not None:
            command = lazy.load()
            self.add_command(command, cmd_name)
        return command

    def format_commands(self, ctx: Context, formatter: HelpFormatter) -> None:
        # A command not loaded yet shows its written line: listing the
        # commands must not import them all.
        listed: list[tuple[str, ClickCommand | LazyCommand]] = []
        for name in self.list_commands(ctx):
            command = self.commands.get(name) or self._lazy(name)
            if command is not None and not command.hidden:
                listed.append((name, command))
        if not listed:
            return
        limit = formatter.width - 6 - max(len(name) for name, _ in listed)
        rows = [
            (
                name,
                make_default_short_help(command.help, limit)
                if isinstance(command, LazyCommand)
                else command.get_short_help_str(limit),
            )
            for name, command in listed
        ]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def resolve_command(
        self, ctx: Context, args: list[str]
    ) -> tuple[str | None, ClickCommand | None, list[str]]:
        try:
            return super().resolve_command(ctx, args)
        except UsageError as exc:
            # Typer suggests among the commands loaded; suggest among all.
            if self.lazy_commands and args and "Did you mean" not in exc.message:
                matches = get_close_matches(args[0], self.list_commands(ctx))
                if matches:
                    names = ", ".join(repr(m) for m in matches)
                    exc.message = f"{exc.message.rstrip('.')}. Did you mean {names}?"
            raise

    def _lazy(self, name: str) -> LazyCommand | None:
        return next((c for c in self.lazy_commands if c.name == name), None)

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        windows_expand_args: bool = True,
        **extra: Any,
    ) -> Any:
        argv = list(sys.argv[1:] if args is None else args)
        code = _run(
            lambda: super(Group, self).main(
                argv,
                prog_name,
                complete_var,
                standalone_mode=False,
                windows_expand_args=windows_expand_args,
                **extra,
            ),
            argv,
        )
        if standalone_mode:
            sys.exit(code)
        return code


def _run(invoke: Callable[[], Any], argv: list[str]) -> int:
    problem = _not_utf8(argv)
    if problem:
        say_error(problem)
        return EXIT_ERROR
    try:
        result = invoke()
    except NoArgsIsHelpError as exc:
        # A bare `flagramp` (or `flagramp flags`) asks for help: print it, exit 0.
        typer.echo(exc.format_message())
        return 0
    except ClickException as exc:
        say_error(usage_message(exc))
        return EXIT_ERROR
    except typer.Abort:
        say_error("aborted")
        return EXIT_ERROR
    except Exception as exc:
        # Rationale: this is the CLI's outermost boundary; no traceback reaches a
        # user, whatever a command forgot to catch (STYLE: boundaries only).
        if os.environ.get(DEBUG_VARIABLE) == "1":
            raise
        say_error(describe(exc))
        return EXIT_ERROR
    return result if isinstance(result, int) else 0


def usage_message(exc: ClickException) -> str:
    """One line for a Typer/Click usage error, with where to read more."""
    if isinstance(exc, NoSuchOption):
        message = f"no such option: {exc.option_name}"
        if exc.possibilities:
            message += "; did you mean " + " or ".join(sorted(exc.possibilities)) + "?"
        elif _is_number(exc.option_name):
            message += "; a negative number reads as an option: put -- before it"
    else:
        message = exc.format_message().strip()
        if message[:1].isupper() and message[1:2].islower():
            message = message[0].lower() + message[1:]
        message = message.removesuffix(".").replace(". Did you mean", "; did you mean")
    ctx: Context | None = getattr(exc, "ctx", None)
    if ctx is not None:
        message += f" (see '{ctx.command_path} --help')"
    return message


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _not_utf8(argv: list[str]) -> str:
    """What is not UTF-8 among the arguments and FLAGRAMP_* settings, or ""."""
    # Python hands over undecodable bytes as lone surrogates (PEP 383); nothing
    # downstream can store or print them, so refuse them before anything runs.
    for position, arg in enumerate(argv, start=1):
        if not _is_utf8(arg):
            return f"argument {position} is not UTF-8 text: {_as_bytes(arg)}"
    for name, value in sorted(os.environ.items()):
        if name.startswith("FLAGRAMP_") and not _is_utf8(value):
            return f"{name} is not UTF-8 text: {_as_bytes(value)}"
    return ""


def _is_utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _as_bytes(text: str) -> str:
    try:
        raw = text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return shown(text)
    return shown(raw.decode("utf-8", "backslashreplace"))


class App(typer.Typer):
    """`typer.Typer` building flagramp's `Group` and `Command` classes."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("cls", Group)
        kwargs.setdefault("no_args_is_help", True)
        kwargs.setdefault("rich_markup_mode", None)
        super().__init__(**kwargs)

    def command(
        self,
        name: str | None = None,
        *,
        cls: type[TyperCommand] | None = None,
        **kwargs: Any,
    ) -> Callable[[CommandFunctionType], CommandFunctionType]:
        return super().command(name, cls=cls or Command, **kwargs)
