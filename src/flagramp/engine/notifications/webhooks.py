"""Webhooks configured in flagramp (never in plan files), per environment.

Adding and removing one is audited through the store's `record` (kind
`webhook`, key its id); the audit row never holds the secret, only whether
there is one.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

import httpx
from sqlalchemy import Connection, RowMapping, delete, insert, select

from flagramp.core.errors import WebhookInvalid, WebhookNotFound
from flagramp.core.identifiers import check_environment
from flagramp.core.types import Json
from flagramp.engine.notify import NoticeKind
from flagramp.store.notification_tables import webhooks
from flagramp.store.sql_store import SqlUnitOfWork

URL_MAX = 2000
SECRET_MIN = 16
SECRET_MAX = 500


class WebhookFormat(StrEnum):
    """What a webhook receives."""

    SLACK = "slack"
    """A Slack-compatible message: `{"text": …, "blocks": […]}`."""
    JSON = "json"
    """The notice as JSON, signed with the webhook's secret."""


@dataclass(frozen=True)
class Webhook:
    """A destination for notices of some kinds (all kinds when `kinds` is empty)."""

    id: int
    environment: str
    url: str
    format: WebhookFormat
    secret: str | None
    kinds: tuple[NoticeKind, ...]
    created_at: str
    created_by: str

    def takes(self, kind: NoticeKind) -> bool:
        """Whether notices of `kind` go to this webhook."""
        return not self.kinds or kind in self.kinds

    def summary(self) -> dict[str, Json]:
        """What people may see of it: everything but the secret."""
        return {
            "id": self.id,
            "environment": self.environment,
            "url": self.url,
            "format": self.format.value,
            "signed": self.secret is not None,
            "kinds": [kind.value for kind in self.kinds],
            "created_at": self.created_at,
            "created_by": self.created_by,
        }


def add_webhook(
    unit: SqlUnitOfWork,
    environment: str,
    url: str,
    *,
    format: WebhookFormat,
    secret: str | None = None,
    kinds: Iterable[str] = (),
    at: dt.datetime,
) -> Webhook:
    """Add a webhook in `unit` and audit it; raises WebhookInvalid for bad input."""
    check_environment(environment)
    checked_url = check_url(url)
    chosen = check_kinds(kinds)
    if secret is not None and not SECRET_MIN <= len(secret) <= SECRET_MAX:
        raise WebhookInvalid(
            "secret", "…", f"use {SECRET_MIN} to {SECRET_MAX} characters"
        )
    if format is WebhookFormat.JSON and secret is None:
        raise WebhookInvalid("secret", "", "a JSON webhook is signed: give it a secret")
    stamp = at.astimezone(dt.UTC).isoformat()
    result = unit.execute(
        insert(webhooks).values(
            environment=environment,
            url=checked_url,
            format=format.value,
            secret=secret,
            kinds=json.dumps([kind.value for kind in chosen]),
            created_at=stamp,
            created_by=unit.author.who,
        )
    )
    key = result.inserted_primary_key
    assert key is not None
    webhook = Webhook(
        int(key[0]),
        environment,
        checked_url,
        format,
        secret,
        chosen,
        stamp,
        unit.author.who,
    )
    unit.record(environment, "webhook", str(webhook.id), "add", None, webhook.summary())
    return webhook


def remove_webhook(unit: SqlUnitOfWork, environment: str, webhook_id: int) -> Webhook:
    """Remove a webhook in `unit` and audit it; its pending deliveries fail when
    their turn comes. Raises WebhookNotFound."""
    webhook = get_webhook(unit.connection, environment, webhook_id)
    unit.execute(delete(webhooks).where(webhooks.c.id == webhook_id))
    unit.record(
        environment, "webhook", str(webhook_id), "remove", webhook.summary(), None
    )
    return webhook


def list_webhooks(conn: Connection, environment: str | None = None) -> list[Webhook]:
    """The webhooks of `environment` (of every environment if None), by id."""
    query = select(webhooks).order_by(webhooks.c.id)
    if environment is not None:
        query = query.where(webhooks.c.environment == environment)
    return [_webhook(row) for row in conn.execute(query).mappings()]


def get_webhook(conn: Connection, environment: str, webhook_id: int) -> Webhook:
    """The webhook by id in `environment`; raises WebhookNotFound."""
    row = (
        conn.execute(
            select(webhooks).where(
                webhooks.c.id == webhook_id, webhooks.c.environment == environment
            )
        )
        .mappings()
        .first()
    )
    if row is None:
        raise WebhookNotFound(webhook_id, environment)
    return _webhook(row)


def check_url(url: str) -> str:
    """An absolute http or https URL with a host, or WebhookInvalid."""
    if not url or len(url) > URL_MAX or url != url.strip():
        raise WebhookInvalid("url", url[:80], f"use 1 to {URL_MAX} characters")
    if not url.isprintable():
        raise WebhookInvalid("url", url[:80], "it contains control characters")
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise WebhookInvalid("url", url[:80], str(exc)) from exc
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise WebhookInvalid("url", url[:80], "use an http:// or https:// URL")
    return url


def check_kinds(kinds: Iterable[str]) -> tuple[NoticeKind, ...]:
    """The kinds named, once each, in NoticeKind's order; or WebhookInvalid."""
    chosen: set[NoticeKind] = set()
    for kind in kinds:
        try:
            chosen.add(NoticeKind(kind))
        except ValueError:
            known = ", ".join(kind.value for kind in NoticeKind)
            raise WebhookInvalid("kind", kind, f"use one of {known}") from None
    return tuple(kind for kind in NoticeKind if kind in chosen)


def _webhook(mapping: RowMapping) -> Webhook:
    return Webhook(
        id=int(mapping["id"]),
        environment=mapping["environment"],
        url=mapping["url"],
        format=WebhookFormat(mapping["format"]),
        secret=mapping["secret"],
        kinds=tuple(NoticeKind(kind) for kind in json.loads(mapping["kinds"])),
        created_at=mapping["created_at"],
        created_by=mapping["created_by"],
    )
