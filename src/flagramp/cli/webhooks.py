"""`flagramp webhook add|list|remove`: where notices go, per environment."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from flagramp.cli.commands import App
from flagramp.cli.options import (
    EnvOption,
    JsonOption,
    WhoOption,
    WhyOption,
    author,
    open_store,
)
from flagramp.cli.output import console, emit_json, fail, user_errors
from flagramp.core.clock import SystemClock
from flagramp.engine.notifications.webhooks import (
    WebhookFormat,
    add_webhook,
    list_webhooks,
    remove_webhook,
)
from flagramp.engine.notify import NoticeKind

webhook_app = App(help="Webhooks that receive notices (Slack or signed JSON).")

KIND_HELP = "A notice kind to send (repeat; default every kind): " + ", ".join(
    kind.value for kind in NoticeKind
)


@webhook_app.command("add")
def add(
    url: Annotated[str, typer.Argument(help="http:// or https:// URL.")],
    format: Annotated[
        WebhookFormat,
        typer.Option("--format", help="slack: a Slack message; json: signed JSON."),
    ] = WebhookFormat.JSON,
    kind: Annotated[
        list[str] | None, typer.Option("--kind", metavar="KIND", help=KIND_HELP)
    ] = None,
    secret_file: Annotated[
        Path | None,
        typer.Option(
            "--secret-file",
            metavar="PATH",
            help="Read the signing secret from a file (default for json: a new "
            "random secret, printed once).",
        ),
    ] = None,
    env: EnvOption = "production",
    who: WhoOption = None,
    why: WhyOption = "",
) -> None:
    """Send an environment's notices to a URL."""
    secret: str | None = None
    made_secret = False
    if secret_file is not None:
        try:
            secret = secret_file.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            fail(f"cannot read the secret file {str(secret_file)!r}: {exc}")
    elif format is WebhookFormat.JSON:
        secret, made_secret = secrets.token_hex(32), True
    with user_errors():
        store = open_store()
        with store.unit_of_work(author(who, why)) as unit:
            webhook = add_webhook(
                unit,
                env,
                url,
                format=format,
                secret=secret,
                kinds=kind or (),
                at=SystemClock().now(),
            )
    kinds = ", ".join(k.value for k in webhook.kinds) or "every kind"
    console.print(f"webhook {webhook.id} in {env}: {webhook.format.value}, {kinds}")
    if made_secret:
        console.print(f"signing secret (shown once; give it to the receiver): {secret}")


@webhook_app.command("list")
def list_(env: EnvOption = "production", as_json: JsonOption = False) -> None:
    """List an environment's webhooks (secrets are never shown)."""
    with user_errors():
        store = open_store()
        with store.engine.connect() as conn:
            found = list_webhooks(conn, env)
    if as_json:
        emit_json([webhook.summary() for webhook in found])
        return
    table = Table("id", "url", "format", "signed", "kinds", "added", "by")
    table.title = f"webhooks in {env}"
    for webhook in found:
        table.add_row(
            str(webhook.id),
            webhook.url,
            webhook.format.value,
            "yes" if webhook.secret else "no",
            ", ".join(k.value for k in webhook.kinds) or "every kind",
            webhook.created_at[:19],
            webhook.created_by,
        )
    console.print(table)


@webhook_app.command("remove")
def remove(
    webhook_id: Annotated[int, typer.Argument(metavar="ID", help="From `list`.")],
    env: EnvOption = "production",
    who: WhoOption = None,
    why: WhyOption = "",
) -> None:
    """Stop sending notices to a webhook; its undelivered notices fail."""
    with user_errors():
        store = open_store()
        with store.unit_of_work(author(who, why)) as unit:
            webhook = remove_webhook(unit, env, webhook_id)
    console.print(f"webhook {webhook.id} removed from {env}: {webhook.url}")
