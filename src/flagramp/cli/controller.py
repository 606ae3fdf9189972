"""`flagramp controller` and `flagramp events push`: the engine's loop and its
evidence, from the command line.

`controller` holds the store's lease (one controller acts at a time; a standby
waits and takes over within seconds of the holder's death) and ticks every
`--interval` seconds, or once with `--once`. `events push` takes JSON lines (one
event per line, from a file or `-` for stdin) into a run's windows through the
pushed source; a `--batch-key` makes a redelivery count once.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from flagramp.cli.commands import App
from flagramp.cli.files import read_limited
from flagramp.cli.options import JsonOption, open_store
from flagramp.cli.output import console, emit_json, fail, user_errors
from flagramp.cli.run import service
from flagramp.cli.text import count
from flagramp.core.clock import SystemClock
from flagramp.engine.batch_key_retention import retention_from_env
from flagramp.engine.controller import Controller, TickReport
from flagramp.engine.hook_loading import load_hooks
from flagramp.engine.lease import Lease
from flagramp.engine.source_health import SourceHealth
from flagramp.store.windows import WindowStore

#: The most a pushed file may hold (the server's batch limit is smaller).
MAX_PUSH_BYTES = 64 * 1024 * 1024

events_app = App(help="Evidence for runs: events pushed into their windows.")


def controller(
    once: Annotated[bool, typer.Option("--once", help="One tick, then stop.")] = False,
    interval: Annotated[
        float, typer.Option(metavar="SECONDS", min=0.1, help="Between ticks.")
    ] = 60.0,
    wait: Annotated[
        float | None,
        typer.Option(
            metavar="SECONDS", help="With --once: how long to wait for the lease."
        ),
    ] = 30.0,
    as_json: JsonOption = False,
) -> None:
    """Run the controller: every active run observed, decided, written."""
    with user_errors():
        store = open_store()
        # Promotion hooks: the modules FLAGRAMP_HOOKS names (never a plan's).
        hooks = load_hooks()
        # Prometheus and Datadog: from FLAGRAMP_PROMETHEUS_URL, DD_* (never a plan).
        sources = SourceHealth.from_env()
        driver = Controller(
            store,
            WindowStore(store.engine),
            SystemClock(),
            hooks=hooks,
            sources=sources,
            batch_key_retention=retention_from_env(),
        )
        lease = Lease(store.engine)
        try:
            if once:
                with lease:
                    lease.acquire(timeout=wait)
                    _say(driver.tick(), as_json)
                return
            driver.run(lease, interval=interval, on_tick=lambda r: _say(r, as_json))
        except KeyboardInterrupt:
            # Stopping is how the loop ends: a tick is one transaction per run,
            # so nothing is half written; the lease is released for a standby.
            console.print("stopped")
        finally:
            sources.close()


def _say(report: TickReport, as_json: bool) -> None:
    if as_json:
        emit_json(
            {
                "at": report.at.isoformat(),
                "runs": report.runs,
                "applied": {r: a.version for r, a in report.applied.items()},
                "conflicts": report.conflicts,
                "failed": report.failed,
                "backups": report.backups,
                "batch_keys_deleted": report.batch_keys_deleted,
                "delivered": len(report.dispatched.delivered)
                if report.dispatched
                else 0,
            }
        )
        return
    moved = ", ".join(f"{r} → v{a.version}" for r, a in report.applied.items())
    console.print(
        f"{report.at.isoformat()[:19]} {count(report.runs, 'run')} checked"
        + (f"; moved {moved}" if moved else "")
        + (f"; {len(report.failed)} failed" if report.failed else "")
        + (f"; backed up {', '.join(report.backups)}" if report.backups else "")
        + (
            f"; {count(report.batch_keys_deleted, 'old batch key')} deleted"
            if report.batch_keys_deleted
            else ""
        )
    )
    for run, why in report.failed.items():
        console.print(f"  {run}: {why}")


@events_app.command("push")
def push(
    run: Annotated[str, typer.Argument(metavar="RUN", help="A run id.")],
    file: Annotated[
        str, typer.Argument(metavar="FILE", help="JSON lines, or - for stdin.")
    ],
    batch_key: Annotated[
        str | None,
        typer.Option(metavar="KEY", help="Idempotency key (default: the content's)."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Push events (one JSON object a line) into a run's windows."""
    raw = _read_lines(file)
    with user_errors():
        results = service().push_events(run, raw, batch_key=batch_key)
    if as_json:
        emit_json(
            {
                target: {
                    "key": r.key,
                    "duplicate": r.duplicate,
                    "exposures": r.counts.exposures,
                    "outcomes": r.counts.outcomes,
                    "rejected": [e.reason for e in r.rejected],
                }
                for target, r in results.items()
            }
        )
        return
    for target, result in results.items():
        if result.duplicate:
            console.print(
                f"{target}: batch {result.key} was pushed before; nothing new"
            )
            continue
        console.print(
            f"{target}: {count(result.counts.exposures, 'exposure')}, "
            f"{count(result.counts.outcomes, 'outcome')}, "
            f"{len(result.rejected):,} rejected"
        )


def _read_lines(file: str) -> list[object]:
    if file == "-":
        data = sys.stdin.buffer.read(MAX_PUSH_BYTES + 1)
    else:
        try:
            read = read_limited(Path(file), MAX_PUSH_BYTES)
        except OSError as exc:
            fail(f"{file}: {exc.strerror or exc}")
        data = read.data
    if len(data) > MAX_PUSH_BYTES:
        fail(f"{file} holds more than {MAX_PUSH_BYTES:,} bytes")
    events: list[object] = []
    for number, line in enumerate(data.decode("utf-8", "replace").splitlines(), 1):
        if not line.strip():
            continue
        try:
            events.append(json.loads(line))
        except ValueError:
            fail(f"{file}:{number}: not a JSON object")
    return events
