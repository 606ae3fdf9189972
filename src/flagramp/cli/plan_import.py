"""`flagramp plan import-markdown FILE [-o OUT]`: a draft plan from a team's document.

Thin: read the file within its limit, call `core.plans.markdown`, write the
draft (to OUT atomically, or to stdout), say on stderr what is left to decide.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path
from typing import Annotated

import typer

from flagramp.cli.commands import App
from flagramp.cli.files import read_limited
from flagramp.cli.output import err_console, fail, styled
from flagramp.cli.text import count
from flagramp.core.plans.markdown import (
    MAX_CHARS,
    DocumentUnreadable,
    Imported,
    import_markdown,
)

#: The largest document read, in bytes: as many bytes as the parser takes
#: characters, so that a file within it is never refused for its length later.
MAX_BYTES = MAX_CHARS


def register_import_markdown(plan_app: App) -> None:
    """Add `import-markdown` to the `plan` commands."""
    plan_app.command("import-markdown")(import_markdown_command)


def import_markdown_command(
    file: Annotated[
        Path, typer.Argument(help="A release plan in VA's Markdown template.")
    ],
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", "-o", metavar="OUT", help="Write the draft here (default: stdout)."
        ),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Replace OUT if it already exists.")
    ] = False,
) -> None:
    """Draft a YAML plan from a Markdown release plan; every blank becomes a TBD.

    Each value found names the line it came from; `plan lint` on the draft lists
    what is left to decide.
    """
    if out is not None and _same_file(out, file):
        fail(f"{out} is the document itself; write the draft to another file")
    if out is not None and out.exists() and not force:
        fail(f"{out} already exists; pass --force to replace it")
    imported = _import(file)
    if out is None:
        typer.echo(imported.yaml, nl=False)
    else:
        _write(out, imported.yaml)
    phases = len(imported.draft.phases)
    where = "the draft" if out is None else str(out)
    err_console.print(
        styled("drafted:", "green"),
        f"{where} from {file}: {count(phases, 'phase')}, "
        f"{count(imported.stages, 'stage')}, "
        f"{count(len(imported.tbds), 'TBD')} left to decide",
    )
    if out is not None:
        err_console.print(
            f"next: fill in the TBDs; `flagramp plan lint {out}` lists them"
        )


def _same_file(out: Path, file: Path) -> bool:
    try:
        return out.exists() and file.exists() and out.samefile(file)
    except OSError:
        return False


def _import(file: Path) -> Imported:
    try:
        read = read_limited(file, MAX_BYTES)
    except OSError as exc:
        fail(f"{file}: cannot read: {exc.strerror or exc}")
    if read.is_over(MAX_BYTES):
        fail(
            f"{file}: holds more than {MAX_BYTES:,} bytes, the most a release "
            "plan document may"
        )
    try:
        text = read.data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = read.data.count(b"\n", 0, exc.start) + 1
        fail(f"{file}:{line}: is not UTF-8 text (a binary file?)")
    try:
        return import_markdown(text, str(file))
    except DocumentUnreadable as exc:
        fail(str(exc))


def _write(out: Path, text: str) -> None:
    """Write `text` to `out` whole or not at all: a temporary file, then a rename."""
    # A new file ("x") in OUT's directory gets the user's usual permissions
    # (mkstemp's are owner-only) and renames over OUT in one step.
    temporary = out.with_name(f".{out.name}.{secrets.token_hex(6)}.tmp")
    try:
        with temporary.open("x", encoding="utf-8") as stream:
            stream.write(text)
        os.replace(temporary, out)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        fail(f"{out}: cannot write: {exc.strerror or exc}")
