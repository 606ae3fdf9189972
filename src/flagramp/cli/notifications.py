"""`flagramp notifications list|show|retry|dispatch`: the outbox and its log."""

from __future__ import annotations

import time
from typing import Annotated

import typer
from rich.table import Table

from flagramp.cli.commands import App
from flagramp.cli.options import JsonOption, WhoOption, WhyOption, author, open_store
from flagramp.cli.output import console, emit_json, fail, user_errors
from flagramp.cli.text import count
from flagramp.core.clock import SystemClock
from flagramp.engine.notifications.delivery_log import (
    attempts_of,
    get_delivery,
    list_deliveries,
    retry_delivery,
)
from flagramp.engine.notifications.dispatch import DispatchReport, dispatch

notifications_app = App(help="Notices sent by webhook and e-mail, and their log.")

DeliveryId = Annotated[str, typer.Argument(metavar="DELIVERY", help="From `list`.")]


@notifications_app.command("list")
def list_(
    run: Annotated[str | None, typer.Option(metavar="RUN", help="One run's.")] = None,
    status: Annotated[
        str | None,
        typer.Option(metavar="STATUS", help="pending, delivered or failed."),
    ] = None,
    env: Annotated[
        str | None, typer.Option("--env", "-e", metavar="ENV", help="One env's.")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 50,
    as_json: JsonOption = False,
) -> None:
    """The newest deliveries, newest first."""
    with user_errors():
        store = open_store()
        with store.engine.connect() as conn:
            found = list_deliveries(
                conn, run=run, environment=env, status=status, limit=limit
            )
    if as_json:
        emit_json([delivery.to_json() for delivery in found])
        return
    table = Table("delivery", "kind", "run", "to", "status", "tries", "next / done")
    table.title = "notifications"
    for delivery in found:
        when = delivery.finished_at or (
            delivery.due_at.isoformat()[:19] if delivery.due_at else "now"
        )
        table.add_row(
            delivery.delivery_id,
            delivery.kind,
            delivery.run,
            delivery.target,
            delivery.status,
            str(delivery.attempts),
            when[:19],
        )
    console.print(table)


@notifications_app.command("show")
def show(delivery_id: DeliveryId, as_json: JsonOption = False) -> None:
    """One delivery and every attempt to send it."""
    with user_errors():
        store = open_store()
        with store.engine.connect() as conn:
            delivery = get_delivery(conn, delivery_id)
            log = attempts_of(conn, delivery_id)
    if as_json:
        emit_json({**delivery.to_json(), "log": [a.to_json() for a in log]})
        return
    console.print(
        f"{delivery.delivery_id}: {delivery.kind} of run {delivery.run} to "
        f"{delivery.target}, {delivery.status} after "
        f"{count(delivery.attempts, 'attempt')}"
    )
    table = Table("#", "at", "outcome", "code", "ms", "error")
    for attempt in log:
        table.add_row(
            str(attempt.attempt),
            attempt.at[:19],
            attempt.outcome,
            "" if attempt.response_code is None else str(attempt.response_code),
            str(attempt.duration_ms),
            attempt.error or "",
        )
    console.print(table)


@notifications_app.command("retry")
def retry(
    delivery_ids: Annotated[
        list[str] | None, typer.Argument(metavar="DELIVERY...", help="From `list`.")
    ] = None,
    failed: Annotated[
        bool, typer.Option("--failed", help="Every failed delivery.")
    ] = False,
    who: WhoOption = None,
    why: WhyOption = "",
) -> None:
    """Send failed deliveries again, with a fresh set of attempts (audited)."""
    if not delivery_ids and not failed:
        fail("name deliveries to retry, or say --failed for every failed one")
    with user_errors():
        store = open_store()
        chosen = list(delivery_ids or ())
        if failed:
            with store.engine.connect() as conn:
                chosen += [
                    d.delivery_id
                    for d in list_deliveries(conn, status="failed", limit=100_000)
                ]
        with store.unit_of_work(author(who, why)) as unit:
            for delivery_id in dict.fromkeys(chosen):
                retry_delivery(unit, delivery_id)
    console.print(f"{count(len(set(chosen)), 'delivery', 'deliveries')} due again")


@notifications_app.command("dispatch")
def dispatch_(
    once: Annotated[
        bool, typer.Option("--once", help="Send what is due, then stop.")
    ] = False,
    every: Annotated[
        float, typer.Option(metavar="SECONDS", min=0.1, help="Pause between rounds.")
    ] = 5.0,
    as_json: JsonOption = False,
) -> None:
    """Send due notices (the controller does this after each tick); without
    --once, every few seconds until interrupted."""
    with user_errors():
        store = open_store()
        clock = SystemClock()
        try:
            while True:
                _say(dispatch(store, clock), as_json)
                if once:
                    return
                time.sleep(every)
        except KeyboardInterrupt:
            # Stopping the loop is how it ends; whatever was claimed and not
            # recorded is sent again after its lease.
            console.print("stopped")


def _say(report: DispatchReport, as_json: bool) -> None:
    if as_json:
        emit_json(
            {
                "delivered": report.delivered,
                "retrying": report.retrying,
                "failed": report.failed,
            }
        )
        return
    console.print(
        f"{count(len(report.delivered), 'delivered', 'delivered')}, "
        f"{len(report.retrying):,} to retry, {len(report.failed):,} failed"
    )
