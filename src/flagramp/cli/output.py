"""How every command talks to people: Rich for humans, JSON for scripts, one-line
errors with exit code 1 for both.

User text is never read as Rich markup and never reaches the terminal raw: the
consoles here have markup and emoji codes off, and every string they render passes
through `shown()` (escapes for control, format and bidi characters). Styled pieces
are `Text` objects built with `styled()`, which escapes too. A newline inside a
string prints as `\n` like any other control character: print one line per call.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, NoReturn

import typer
from rich.console import Console, HighlighterType, JustifyMethod, OverflowMethod
from rich.style import Style
from rich.text import Text

from flagramp.cli.failures import describe
from flagramp.cli.text import shown
from flagramp.core.errors import FlagrampError

#: The exit code of a refused operation, invalid input, a usage error, or a check
#: (audit verify, plan validate) that found problems.
EXIT_ERROR = 1


class SafeConsole(Console):
    """A console that renders every string as plain, escaped text."""

    def render_str(
        self,
        text: str,
        *,
        style: str | Style = "",
        justify: JustifyMethod | None = None,
        overflow: OverflowMethod | None = None,
        emoji: bool | None = None,
        markup: bool | None = None,
        highlight: bool | None = None,
        highlighter: HighlighterType | None = None,
    ) -> Text:
        # Rationale: table cells, tree labels, titles and printed strings all come
        # through here, so escaping here covers what a command forgets to.
        return super().render_str(
            shown(text),
            style=style,
            justify=justify,
            overflow=overflow,
            emoji=False,
            markup=False,
            highlight=False,
        )


def _console(*, stderr: bool = False) -> Console:
    return SafeConsole(
        stderr=stderr, markup=False, emoji=False, highlight=False, soft_wrap=True
    )


console = _console()
err_console = _console(stderr=True)


def styled(text: str, style: str) -> Text:
    """`text`, escaped, in a Rich style (`"bold"`, `"green"`)."""
    return Text(shown(text), style=style)


def fail(message: str, code: int = EXIT_ERROR) -> NoReturn:
    """Print `error: message` on one line to stderr and exit with `code`."""
    say_error(message)
    raise typer.Exit(code)


def say_error(message: str) -> None:
    """Print `error: message` on one line to stderr (newlines come out as `\\n`)."""
    err_console.print(styled("error:", "bold red"), message.strip())


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn flagramp's own errors into one-line messages; never show a traceback."""
    try:
        yield
    except FlagrampError as exc:
        fail(describe(exc))


def emit_json(data: Any) -> None:
    """Write `data` as JSON on stdout (for `--json`); non-ASCII comes out escaped."""
    sys.stdout.write(json.dumps(data, indent=2, sort_keys=False, default=str) + "\n")
