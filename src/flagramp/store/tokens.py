"""API tokens: issued once, stored hashed, compared in constant time.

A token reads `frp_<id>_<secret>`. The `id` finds the row; the secret (32
random bytes, URL-safe base64) is never stored, only its SHA-256, which is
compared with `hmac.compare_digest`. Every token belongs to a person (an e-mail
address) or a service (a name) and carries one permission: `viewer` <
`engineer` < `operator` < `admin`, or `sdk` (read one environment's flags and
write its events). Issuing and revoking are audited (the audit row names the
token's id, owner and permission, never its secret) in the same unit of work
as the row itself.

A token may expire (`expires_at`, UTC to the second; NULL never). Expiry is
judged by a `now` the caller passes or else the store's clock, the one that
stamps `created_at`, never the wall clock read here.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets
from collections.abc import Collection
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

from sqlalchemy import insert, select, text, update

from flagramp.core.errors import InvalidToken, TokenNotFound
from flagramp.core.identifiers import check_author, check_environment, check_text
from flagramp.core.types import Json
from flagramp.store.connections import reading
from flagramp.store.port import DEFAULT_ENVIRONMENT, Author
from flagramp.store.sql_store import SqlFlagStore
from flagramp.store.token_tables import api_tokens

PREFIX = "frp"
_TOKEN = re.compile(r"frp_([a-z0-9]{12})_([A-Za-z0-9_-]{43})")
#: A hash no secret has, compared against when the id is unknown, so that an
#: unknown id costs as long as a wrong secret.
_NO_SECRET = "0" * 64
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+")
#: The row of one token. Text, not a Core select: every authenticated request
#: runs it (revocation is seen at the next request because nothing is cached),
#: and building and compiling a select costs more than SQLite's lookup.
_BY_ID = text(
    "SELECT "
    + ", ".join(column.name for column in api_tokens.columns)
    + " FROM api_tokens WHERE id = :id"
)


class Permission(StrEnum):
    """What a token may do on the server. `sdk` is outside the ladder."""

    VIEWER = "viewer"
    ENGINEER = "engineer"
    OPERATOR = "operator"
    ADMIN = "admin"
    SDK = "sdk"

    @property
    def rank(self) -> int:
        """0 for `sdk`, then 1 (viewer) to 4 (admin)."""
        return _RANKS[self]

    def includes(self, needed: Permission) -> bool:
        """Whether a holder of this permission may do what `needed` allows."""
        return self.rank >= needed.rank > 0


_RANKS = {
    Permission.SDK: 0,
    Permission.VIEWER: 1,
    Permission.ENGINEER: 2,
    Permission.OPERATOR: 3,
    Permission.ADMIN: 4,
}


class OwnerKind(StrEnum):
    """Who holds a token: a person (by e-mail address) or a service (by name)."""

    PERSON = "person"
    SERVICE = "service"


@dataclass(frozen=True, slots=True)
class TokenRecord:
    """A stored token, without its secret."""

    id: str
    owner: str
    owner_kind: OwnerKind
    permission: Permission
    environment: str | None
    description: str
    created_at: str
    created_by: str
    revoked_at: str | None = None
    revoked_by: str | None = None
    expires_at: str | None = None

    @property
    def is_revoked(self) -> bool:
        """Whether the token was revoked (it then authenticates nobody)."""
        return self.revoked_at is not None

    def is_expired(self, now: dt.datetime) -> bool:
        """Whether the token has expired by `now` (timezone-aware)."""
        return self.expires_at is not None and now >= dt.datetime.fromisoformat(
            self.expires_at
        )

    def is_usable(self, now: dt.datetime) -> bool:
        """Whether the token authenticates at `now`: neither revoked nor expired.
        (A cached record's `revoked_at` is as old as the cache entry.)"""
        return not self.is_revoked and not self.is_expired(now)

    def to_json(self) -> dict[str, str | None]:
        """The record as JSON (for the API and `token list --json`)."""
        return {
            "id": self.id,
            "owner": self.owner,
            "owner_kind": self.owner_kind.value,
            "permission": self.permission.value,
            "environment": self.environment,
            "description": self.description,
            "created_at": self.created_at,
            "created_by": self.created_by,
            "revoked_at": self.revoked_at,
            "revoked_by": self.revoked_by,
            "expires_at": self.expires_at,
        }


@dataclass(frozen=True, slots=True)
class IssuedToken:
    """A token just issued: its record and the token text, shown only now."""

    record: TokenRecord
    token: str


def split_token(text: str) -> tuple[str, str] | None:
    """(id, secret) of a well-formed token, else None."""
    match = _TOKEN.fullmatch(text)
    return None if match is None else (match.group(1), match.group(2))


def secret_hash(secret: str) -> str:
    """The stored form of a secret: its SHA-256, hex."""
    return hashlib.sha256(secret.encode("ascii")).hexdigest()


class TokenStore:
    """API tokens in the store's database."""

    def __init__(self, store: SqlFlagStore) -> None:
        self.store = store

    def issue(
        self,
        *,
        owner: str,
        owner_kind: OwnerKind,
        permission: Permission,
        author: Author,
        environment: str | None = None,
        description: str = "",
        expires_at: dt.datetime | None = None,
    ) -> IssuedToken:
        """Create a token; the returned text is the only copy of its secret.
        With `expires_at` (timezone-aware, kept to the second) it authenticates
        nobody from then on.

        Raises InvalidToken for an owner that is not an e-mail address (person)
        or a valid name (service), an SDK token without an environment, an
        environment on any other token, or an `expires_at` not after now.
        """
        _check_request(owner, owner_kind, permission, environment, description)
        expires = None if expires_at is None else _expiry(expires_at, self.now())
        token_id = secrets.token_hex(6)
        secret = secrets.token_urlsafe(32)
        now = _stamp(self.store)
        record = TokenRecord(
            id=token_id,
            owner=owner,
            owner_kind=owner_kind,
            permission=permission,
            environment=environment,
            description=description,
            created_at=now,
            created_by=author.who,
            expires_at=expires,
        )
        with self.store.unit_of_work(author) as unit:
            unit.execute(
                insert(api_tokens).values(
                    **_row(record), secret_sha256=secret_hash(secret)
                )
            )
            unit.record(
                environment or DEFAULT_ENVIRONMENT,
                "token",
                token_id,
                "issue",
                None,
                _audited(record),
            )
        return IssuedToken(record, f"{PREFIX}_{token_id}_{secret}")

    def now(self) -> dt.datetime:
        """What expiry is judged by when no `now` is given: the store's clock."""
        return self.store.clock.now()

    def authenticate(
        self, token: str, now: dt.datetime | None = None
    ) -> TokenRecord | None:
        """The record of a valid token, unrevoked and unexpired at `now`
        (default: the store's clock); None for anything else."""
        record = self.presented(token)
        return _if_usable(record, self.now() if now is None else now)

    def presented(self, token: str) -> TokenRecord | None:
        """The record of the token whose secret `token` carries, revoked and
        expired ones too; None for a malformed token, an unknown id or a wrong
        secret. For callers that tell why a token is refused (`is_usable`)."""
        parts = split_token(token)
        token_id, secret = parts if parts is not None else ("", "")
        row = self._row(token_id) if parts is not None else None
        stored = row["secret_sha256"] if row is not None else _NO_SECRET
        matches = hmac.compare_digest(secret_hash(secret), str(stored))
        return _record(row) if row is not None and matches else None

    def active(
        self, token_id: str, now: dt.datetime | None = None
    ) -> TokenRecord | None:
        """The record of the token `token_id` if it is unrevoked and unexpired at
        `now` (default: the store's clock); None for an unknown, revoked or
        expired one.

        For callers that already hold proof the token was presented (the
        dashboard's signed session cookie carries only the id): no secret is
        compared, so an id must reach it only from something the server signed.
        """
        row = self._row(token_id)
        record = None if row is None else _record(row)
        return _if_usable(record, self.now() if now is None else now)

    def unrevoked(self, token_ids: Collection[str]) -> dict[str, dt.datetime | None]:
        """The ids among `token_ids` of tokens that exist and are not revoked,
        each with its expiry (None: never). One read: the events writer checks
        its group's senders with it (`server.token_cache.UsableSenders`)."""
        t = api_tokens.c
        query = select(t.id, t.expires_at).where(
            t.id.in_(sorted(token_ids)), t.revoked_at.is_(None)
        )
        with reading(self.store.engine, "API tokens") as conn:
            rows = conn.execute(query).all()
        return {
            str(row.id): None
            if row.expires_at is None
            else dt.datetime.fromisoformat(row.expires_at)
            for row in rows
        }

    def get(self, token_id: str) -> TokenRecord:
        """The token's record; raises TokenNotFound."""
        row = self._row(token_id)
        if row is None:
            raise TokenNotFound(token_id)
        return _record(row)

    def list(self) -> list[TokenRecord]:
        """Every token, revoked ones too, oldest first."""
        query = select(api_tokens).order_by(api_tokens.c.created_at, api_tokens.c.id)
        with reading(self.store.engine, "API tokens") as conn:
            return [_record(row) for row in conn.execute(query).mappings()]

    def revoke(self, token_id: str, author: Author) -> TokenRecord:
        """Revoke a token (at once, for every server); revoking twice keeps the
        first revocation. Raises TokenNotFound."""
        with self.store.unit_of_work(author) as unit:
            t = api_tokens.c
            row = (
                unit.connection.execute(select(api_tokens).where(t.id == token_id))
                .mappings()
                .first()
            )
            if row is None:
                raise TokenNotFound(token_id)
            before = _record(row)
            if before.is_revoked:
                return before
            now = _stamp(self.store)
            unit.execute(
                update(api_tokens)
                .where(t.id == token_id)
                .values(revoked_at=now, revoked_by=author.who)
            )
            after = replace(before, revoked_at=now, revoked_by=author.who)
            unit.record(
                before.environment or DEFAULT_ENVIRONMENT,
                "token",
                token_id,
                "revoke",
                _audited(before),
                _audited(after),
            )
        return after

    def _row(self, token_id: str) -> Any:
        with reading(self.store.engine, "API tokens") as conn:
            return conn.execute(_BY_ID, {"id": token_id}).mappings().first()


def _check_request(
    owner: str,
    owner_kind: OwnerKind,
    permission: Permission,
    environment: str | None,
    description: str,
) -> None:
    check_author(owner)
    check_text("description", description)
    if owner_kind is OwnerKind.PERSON and _EMAIL.fullmatch(owner) is None:
        raise InvalidToken(
            "owner", f"a person is named by e-mail address, not {owner!r}"
        )
    if permission is Permission.SDK:
        if environment is None:
            raise InvalidToken("environment", "an SDK token is for one environment")
        check_environment(environment)
    elif environment is not None:
        raise InvalidToken(
            "environment",
            f"only SDK tokens are bound to an environment, not {permission}",
        )


def _if_usable(record: TokenRecord | None, now: dt.datetime) -> TokenRecord | None:
    return record if record is not None and record.is_usable(now) else None


def _stamp(store: SqlFlagStore) -> str:
    return _iso(store.clock.now())


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat(timespec="seconds")


def _expiry(expires_at: dt.datetime, now: dt.datetime) -> str:
    """`expires_at` as stored; raises InvalidToken unless it is after `now`."""
    if expires_at.tzinfo is None:
        raise InvalidToken("expires_at", "give the time with its time zone")
    stored = _iso(expires_at)
    if dt.datetime.fromisoformat(stored) <= now:
        raise InvalidToken("expires_at", f"{stored} is not in the future")
    return stored


def _row(record: TokenRecord) -> dict[str, Any]:
    return {
        "id": record.id,
        "owner": record.owner,
        "owner_kind": record.owner_kind.value,
        "permission": record.permission.value,
        "environment": record.environment,
        "description": record.description,
        "created_at": record.created_at,
        "created_by": record.created_by,
        "revoked_at": record.revoked_at,
        "revoked_by": record.revoked_by,
        "expires_at": record.expires_at,
    }


def _record(row: Any) -> TokenRecord:
    return TokenRecord(
        id=row["id"],
        owner=row["owner"],
        owner_kind=OwnerKind(row["owner_kind"]),
        permission=Permission(row["permission"]),
        environment=row["environment"],
        description=row["description"],
        created_at=row["created_at"],
        created_by=row["created_by"],
        revoked_at=row["revoked_at"],
        revoked_by=row["revoked_by"],
        expires_at=row["expires_at"],
    )


def _audited(record: TokenRecord) -> dict[str, Json]:
    return {
        "owner": record.owner,
        "owner_kind": record.owner_kind.value,
        "permission": record.permission.value,
        "environment": record.environment,
        "description": record.description,
        "revoked_at": record.revoked_at,
        "expires_at": record.expires_at,
    }
