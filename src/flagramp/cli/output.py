"""How every command talks to people: Rich for humans, JSON for scripts, one-line
errors with a non-zero exit code for both."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, NoReturn

import typer
from rich.console import Console

from flagramp.core.errors import FlagrampError

console = Console(highlight=False, soft_wrap=True)
err_console = Console(stderr=True, highlight=False, soft_wrap=True)

#: Exit codes: 1 for a refused operation, invalid input, or a check (audit verify,
#: plan validate) that found problems; 2 for usage errors (Typer's own).
EXIT_ERROR = 1


def fail(message: str, code: int = EXIT_ERROR) -> NoReturn:
    """Print `error: message` on one line to stderr and exit with `code`."""
    err_console.print(f"[bold red]error:[/] {_one_line(message)}", markup=True)
    raise typer.Exit(code)


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn flagramp's own errors into one-line messages; never show a traceback."""
    try:
        yield
    except FlagrampError as exc:
        fail(str(exc))


def emit_json(data: Any) -> None:
    """Write `data` as JSON on stdout (for `--json`)."""
    sys.stdout.write(json.dumps(data, indent=2, sort_keys=False, default=str) + "\n")


def _one_line(message: str) -> str:
    return " ".join(message.split())
