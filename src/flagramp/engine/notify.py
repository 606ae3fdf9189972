"""Notices and the transactional outbox.

A transition that people must hear about (a go/no-go waiting, a pause, a
rollback, a kill, a checkpoint) builds a `Notice` and calls `enqueue` inside the
unit of work that makes the transition: one outbox row per destination commits
with the transition or not at all, so nothing is sent for a transition that did
not happen and nothing is lost for one that did. `dispatch` (engine/dispatch.py)
sends the rows after commit.

Destinations are the environment's webhooks that take the notice's kind and,
when e-mail is configured (`FLAGRAMP_SMTP_URL` in the process that enqueues),
every e-mail address among the people of the notice's roles. People who are
accounts rather than addresses get no e-mail.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from email.errors import HeaderParseError
from email.headerregistry import Address
from enum import StrEnum
from typing import Any

from sqlalchemy import insert, select

from flagramp.core.errors import InvalidIdentifier, NoticeInvalid
from flagramp.core.identifiers import check_entity_key, check_environment, check_text
from flagramp.core.types import Json
from flagramp.store.documents import canonical
from flagramp.store.notification_tables import notification_outbox, webhooks
from flagramp.store.sql_store import SqlUnitOfWork

#: Turns e-mail on for the process that enqueues (and says where to send it).
SMTP_URL_VARIABLE = "FLAGRAMP_SMTP_URL"
TITLE_MAX = 500
WEBHOOK = "webhook"
EMAIL = "email"


class NoticeKind(StrEnum):
    """What a notice tells; webhooks subscribe to kinds."""

    NEEDS_PERSON = "needs_person"
    """A go/no-go, sign-off, question or approval waits for someone."""
    PAUSED = "paused"
    ROLLED_BACK = "rolled_back"
    KILLED = "killed"
    RESUMED = "resumed"
    COMPLETED = "completed"
    CHECKPOINT = "checkpoint"
    PROMOTION_STEP = "promotion_step"
    DELIVERY_FAILED = "delivery_failed"
    """A notice could not be delivered to one destination after every retry."""


@dataclass(frozen=True)
class NoticeRole:
    """A plan role to reach and its people (addresses or account ids)."""

    role: str
    people: tuple[str, ...]


@dataclass(frozen=True)
class Notice:
    """Something people must hear about a run, as it will be sent.

    `key` is stable for the event it tells about (`<run>:<event seq>`): a notice
    enqueued twice with one key is delivered once per destination. `data` is JSON
    (the run's link, the evidence summary) and goes out as it is.
    """

    kind: NoticeKind
    run: str
    environment: str
    title: str
    text: str
    key: str
    at: dt.datetime
    roles: tuple[NoticeRole, ...] = ()
    data: Mapping[str, Json] = field(default_factory=dict)

    def addresses(self) -> list[str]:
        """Every e-mail address among the roles' people, once, in order."""
        seen: dict[str, str] = {}
        for role in self.roles:
            for person in role.people:
                address = email_address(person)
                if address is not None:
                    seen.setdefault(address.lower(), address)
        return list(seen.values())

    def to_json(self) -> dict[str, Json]:
        """The notice as the outbox keeps it (and the JSON webhook sends it)."""
        return {
            "kind": self.kind.value,
            "run": self.run,
            "environment": self.environment,
            "title": self.title,
            "text": self.text,
            "key": self.key,
            "at": self.at.astimezone(dt.UTC).isoformat(),
            "roles": [
                {"role": role.role, "people": list(role.people)} for role in self.roles
            ],
            "data": dict(self.data),
        }

    @classmethod
    def from_json(cls, document: Mapping[str, Any]) -> Notice:
        """The notice `to_json` wrote."""
        return cls(
            kind=NoticeKind(document["kind"]),
            run=document["run"],
            environment=document["environment"],
            title=document["title"],
            text=document["text"],
            key=document["key"],
            at=dt.datetime.fromisoformat(document["at"]),
            roles=tuple(
                NoticeRole(role["role"], tuple(role["people"]))
                for role in document["roles"]
            ),
            data=document["data"],
        )


def email_address(person: str) -> str | None:
    """`person` if it is one plain e-mail address (`a.b@example.gov`), else None."""
    if person.count("@") != 1 or any(c.isspace() or c in "<>,;" for c in person):
        return None
    try:
        parsed = Address(addr_spec=person)
    except (ValueError, IndexError, HeaderParseError):
        return None
    if not parsed.username or "." not in parsed.domain:
        return None
    return person


def email_enabled() -> bool:
    """Whether notices get e-mail rows: `FLAGRAMP_SMTP_URL` is set."""
    return bool(os.environ.get(SMTP_URL_VARIABLE))


def delivery_id(notice_key: str, destination: str) -> str:
    """The id a destination sees for a notice: the same on every retry."""
    digest = hashlib.sha256(f"{notice_key}\n{destination}".encode())
    return digest.hexdigest()[:32]


def enqueue(
    unit: SqlUnitOfWork, notice: Notice, *, exclude: Collection[str] = ()
) -> None:
    """Write one outbox row per destination of `notice` in `unit`'s transaction.

    Idempotent per (notice key, destination). `exclude` names destinations to
    leave out (`webhook:3`, `email:a@example.gov`). Raises NoticeInvalid for a
    notice the outbox cannot keep; nothing is written then.
    """
    document = _checked(notice)
    destinations = list(_webhook_destinations(unit, notice))
    if email_enabled():
        destinations += [
            (f"{EMAIL}:{address.lower()}", EMAIL, None, address)
            for address in notice.addresses()
        ]
    destinations = [d for d in destinations if d[0] not in exclude]
    if not destinations:
        return
    names = [name for name, *_ in destinations]
    # Reads go through the connection: a notice with no destination leaves the
    # unit as it was (execute would make it commit).
    present = set(
        unit.connection.execute(
            select(notification_outbox.c.destination).where(
                notification_outbox.c.notice_key == notice.key,
                notification_outbox.c.destination.in_(names),
            )
        ).scalars()
    )
    stamp = notice.at.astimezone(dt.UTC).isoformat()
    rows = [
        {
            "delivery_id": delivery_id(notice.key, name),
            "notice_key": notice.key,
            "destination": name,
            "kind": notice.kind.value,
            "run": notice.run,
            "environment": notice.environment,
            "channel": channel,
            "webhook_id": webhook_id,
            "target": target,
            "notice": document,
            "status": "pending",
            "attempts": 0,
            "due_at": 0,  # due at once, whatever clock the dispatcher keeps
            "lease_until": 0,
            "store_version": unit.write_version,
            "created_at": stamp,
        }
        for name, channel, webhook_id, target in destinations
        if name not in present
    ]
    if rows:
        unit.execute(insert(notification_outbox).values(rows))


def _webhook_destinations(
    unit: SqlUnitOfWork, notice: Notice
) -> Iterable[tuple[str, str, int | None, str]]:
    found = unit.connection.execute(
        select(webhooks.c.id, webhooks.c.url, webhooks.c.kinds)
        .where(webhooks.c.environment == notice.environment)
        .order_by(webhooks.c.id)
    )
    for row in found:
        kinds = json.loads(row.kinds)
        if kinds and notice.kind.value not in kinds:
            continue
        yield f"{WEBHOOK}:{row.id}", WEBHOOK, row.id, row.url


def _checked(notice: Notice) -> str:
    try:
        check_entity_key(notice.run)
        check_environment(notice.environment)
        check_entity_key(notice.key)
        check_text("notice text", notice.text)
        check_text("notice title", notice.title)
        for role in notice.roles:
            check_entity_key(role.role)
    except InvalidIdentifier as exc:
        raise NoticeInvalid(exc.what, exc.detail) from exc
    if not isinstance(notice.kind, NoticeKind):
        raise NoticeInvalid("kind", f"{notice.kind!r} is not a NoticeKind")
    if not notice.title or len(notice.title) > TITLE_MAX or "\n" in notice.title:
        raise NoticeInvalid("title", f"one line of 1 to {TITLE_MAX} characters")
    if notice.at.tzinfo is None:
        raise NoticeInvalid("at", "a time with its time zone (UTC)")
    try:
        return canonical(notice.to_json())
    except (TypeError, ValueError) as exc:
        raise NoticeInvalid("data", f"not JSON: {exc}") from exc
