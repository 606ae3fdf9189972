"""`flagramp promote FROM TO`: a minimal built-in promotion, run directly.

Until promotion plans run through the engine, this is the shorthand: snapshot
TO, copy FROM's flag configuration into it (audited), run the `--probe` URLs,
and decide: `--no-go` writes the snapshot back as new audited changes and
probes again; otherwise (with or without `--yes`) it is Go when every probe
passes and a restore when one fails. Exit status 1 unless Go.
"""

from __future__ import annotations

from typing import Annotated

import httpx
import typer

from flagramp.cli.commands import App
from flagramp.cli.options import WhoOption, WhyOption, author, open_store
from flagramp.cli.output import console, fail, user_errors
from flagramp.cli.text import count
from flagramp.core.plans import Answer, PromotionStep
from flagramp.engine.probes import HookRegistry
from flagramp.engine.promotion import StepOutcome
from flagramp.engine.promotion_runner import run_step


def promote(
    source: Annotated[str, typer.Argument(metavar="FROM", help="Copy from here.")],
    target: Annotated[str, typer.Argument(metavar="TO", help="Into here.")],
    probe: Annotated[
        list[str] | None,
        typer.Option(metavar="URL", help="An HTTP probe: GET must answer 200."),
    ] = None,
    yes: Annotated[
        bool, typer.Option("--yes", help="Go (if the probes pass).")
    ] = False,
    no_go: Annotated[
        bool, typer.Option("--no-go", help="No-Go: restore TO's snapshot.")
    ] = False,
    who: WhoOption = None,
    why: WhyOption = "",
) -> None:
    """Copy FROM's flags into TO after a snapshot; verify; restore on No-Go."""
    if yes and no_go:
        fail("--yes and --no-go exclude each other")
    try:
        step = PromotionStep.model_validate(
            {
                "environment": target,
                "verify": [{"kind": "http", "url": u} for u in probe or ()],
            }
        )
    except ValueError as exc:
        fail(f"cannot promote to {target}: {exc}")
    given = [Answer.PIVOT] if no_go else [Answer.LAUNCH] if yes else []
    with user_errors(), httpx.Client() as client:
        report = run_step(
            open_store(),
            step,
            source,
            hooks=HookRegistry(),
            client=client,
            author=author(who, why or f"promote {source} to {target}"),
            answers=lambda _: given,
        )
    copied = report.copied
    console.print(
        f"snapshot {report.snapshot.id} of {target}; copied from {source}: "
        f"{count(len(copied.created), 'flag')} created, "
        f"{count(len(copied.changed), 'flag')} changed, "
        f"{count(len(copied.segments), 'segment')}"
    )
    for result in (*report.probes, *report.probes_after_restore):
        mark = "ok" if result.ok else "FAILED"
        console.print(f"  {mark}  {result.probe}: {result.detail}")
    console.print(f"{report.outcome.value}")
    if report.restore is not None:
        console.print(
            f"restored {target} to snapshot {report.snapshot.id}: "
            f"{count(report.restore.flags_changed, 'flag')} and "
            f"{count(report.restore.segments_changed, 'segment')} changed back"
        )
    if report.outcome is not StepOutcome.GO:
        raise typer.Exit(1)


def register_promote(app: App) -> None:
    """Add `promote` to the app."""
    app.command("promote")(promote)
