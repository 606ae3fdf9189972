"""The server's tables: API tokens (stored hashed), event batch keys, uploaded plans.

Defined on the store's one `metadata` (so backups and migrations see it);
created by migration 0009_api_tokens (0011_token_expiry added `expires_at`). A
token is `frp_<id>_<secret>`: the row is found by `id`, and only the SHA-256 of
the secret is kept, so a copy of the database lets nobody call the server.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, Integer, String, Table

from flagramp.core.identifiers import AUTHOR_MAX, ENTITY_KEY_MAX, ENVIRONMENT_MAX
from flagramp.store.tables import Document, Name, metadata

#: Longest token id (the part between `frp_` and the secret).
TOKEN_ID_MAX = 24

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", String(TOKEN_ID_MAX), primary_key=True),
    Column("secret_sha256", String(64), nullable=False),
    Column("owner", Name(AUTHOR_MAX), nullable=False),
    Column("owner_kind", String(16), nullable=False),
    Column("permission", String(16), nullable=False),
    Column("environment", Name(ENVIRONMENT_MAX), nullable=True),
    Column("description", Document, nullable=False),
    Column("created_at", String(40), nullable=False),
    Column("created_by", Name(AUTHOR_MAX), nullable=False),
    Column("revoked_at", String(40), nullable=True),
    Column("revoked_by", Name(AUTHOR_MAX), nullable=True),
    #: NULL: the token never expires.
    Column("expires_at", String(40), nullable=True),
)

#: Keys of event batches the server has taken (`POST /api/v1/events`), so that a
#: batch sent twice counts once even when no run watches its flags. Forgotten
#: after `forget_after` (epoch seconds): by then every event of a redelivery is
#: too old to be accepted.
event_batches = Table(
    "event_batches",
    metadata,
    Column("environment", Name(ENVIRONMENT_MAX), primary_key=True),
    Column("batch_key", String(255), primary_key=True),
    Column("forget_after", BigInteger, nullable=False),
    Column("accepted", Integer, nullable=False),
    Index("ix_event_batches_forget_after", "forget_after"),
)

#: Release plans uploaded to the server: one row per (name, revision), the text
#: exactly as sent, and its SHA-256. A revision is never edited: a different
#: text needs a new revision number.
plan_documents = Table(
    "plan_documents",
    metadata,
    Column("name", Name(ENTITY_KEY_MAX), primary_key=True),
    Column("revision", Integer, primary_key=True),
    Column("sha256", String(64), nullable=False),
    Column("text", Document, nullable=False),
    Column("environment", Name(ENVIRONMENT_MAX), nullable=False),
    Column("uploaded_at", String(40), nullable=False),
    Column("uploaded_by", Name(AUTHOR_MAX), nullable=False),
)
