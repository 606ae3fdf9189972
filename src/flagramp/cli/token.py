"""`flagramp token create|list|revoke`: API tokens for people, services and SDKs.

`create --expires-in 90d` issues a token that stops working then; `list` shows
each token's expiry and marks the expired ones.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import typer
from rich.table import Table

from flagramp.cli.commands import App
from flagramp.cli.options import JsonOption, WhoOption, WhyOption, author, open_store
from flagramp.cli.output import console, emit_json, fail, user_errors
from flagramp.core.plans import Duration
from flagramp.store.tokens import OwnerKind, Permission, TokenRecord, TokenStore

token_app = App(help="API tokens: create, list, revoke.")

PERMISSIONS = ", ".join(p.value for p in Permission)


@token_app.command("create")
def create(
    permission: Annotated[
        str, typer.Argument(metavar="PERMISSION", help=f"One of: {PERMISSIONS}.")
    ],
    person: Annotated[
        str | None,
        typer.Option("--person", metavar="EMAIL", help="The person who holds it."),
    ] = None,
    service: Annotated[
        str | None,
        typer.Option("--service", metavar="NAME", help="The service that holds it."),
    ] = None,
    env: Annotated[
        str | None,
        typer.Option(
            "--env", "-e", metavar="ENV", help="The environment of an SDK token."
        ),
    ] = None,
    description: Annotated[
        str, typer.Option(metavar="TEXT", help="What the token is for.")
    ] = "",
    expires_in: Annotated[
        str | None,
        typer.Option(
            "--expires-in",
            metavar="DURATION",
            help="It stops working this long from now (30m, 12h, 90d); default: never.",
        ),
    ] = None,
    who: WhoOption = None,
    why: WhyOption = "",
    as_json: JsonOption = False,
) -> None:
    """Issue a token; it is printed once and never again."""
    try:
        level = Permission(permission)
    except ValueError:
        fail(f"unknown permission {permission!r}; use one of: {PERMISSIONS}")
    if (person is None) == (service is None):
        fail("name exactly one holder: --person EMAIL or --service NAME")
    kind = OwnerKind.PERSON if person is not None else OwnerKind.SERVICE
    owner = person if person is not None else service
    assert owner is not None
    lifetime = None
    if expires_in is not None:
        try:
            lifetime = Duration.parse(expires_in).delta
        except ValueError as exc:
            fail(f"--expires-in: {exc}")
    with user_errors():
        tokens = TokenStore(open_store())
        issued = tokens.issue(
            owner=owner,
            owner_kind=kind,
            permission=level,
            environment=env,
            description=description,
            expires_at=None if lifetime is None else tokens.now() + lifetime,
            author=author(who, why),
        )
    if as_json:
        emit_json({**issued.record.to_json(), "token": issued.token})
        return
    # The token alone on stdout, so that `$(flagramp token create …)` takes it.
    typer.echo(issued.token)
    typer.echo(
        f"token {issued.record.id} for {owner} ({level.value}"
        + (f", {env}" if env else "")
        + (f", expires {issued.record.expires_at}" if issued.record.expires_at else "")
        + "): store it now, it is not shown again",
        err=True,
    )


@token_app.command("list")
def list_tokens(as_json: JsonOption = False) -> None:
    """List tokens (never their secrets)."""
    with user_errors():
        tokens = TokenStore(open_store())
        records = tokens.list()
    if as_json:
        emit_json([r.to_json() for r in records])
        return
    now = tokens.now()
    table = Table(
        "id", "holder", "permission", "environment", "created", "expires", "revoked"
    )
    for r in records:
        table.add_row(
            r.id,
            f"{r.owner} ({r.owner_kind.value})",
            r.permission.value,
            r.environment or "",
            f"{r.created_at} by {r.created_by}",
            _expiry(r, now),
            f"{r.revoked_at} by {r.revoked_by}" if r.revoked_at else "",
        )
    console.print(table)


def _expiry(record: TokenRecord, now: dt.datetime) -> str:
    if record.expires_at is None:
        return "never"
    return record.expires_at + (" (expired)" if record.is_expired(now) else "")


@token_app.command("revoke")
def revoke(
    token_id: Annotated[str, typer.Argument(metavar="ID", help="The token's id.")],
    who: WhoOption = None,
    why: WhyOption = "",
) -> None:
    """Revoke a token: every server refuses it from the next request on."""
    with user_errors():
        record = TokenStore(open_store()).revoke(token_id, author(who, why))
    console.print(f"token {record.id} of {record.owner}: revoked {record.revoked_at}")
