"""flagramp's own tables for driving Flipper's: the outbox, the mirror, adoptions.

They live in flagramp's database (on the store's one `metadata`, created by
migration 0006_flipper_outbox), never in Flipper's.

- `flipper_outbox`: one row per feature per unit of work that changed what
  Flipper's rows must be, written in that unit's transaction. `target` is the
  whole state the feature's rows must have (`FeatureRows.to_json`), never a
  delta, so applying a row twice changes nothing. `status` is `pending` until
  the applier has written Flipper's rows, then `applied`; `superseded` when the
  rows were changed from outside first (nothing is overwritten).
- `flipper_mirror`: what flagramp last knew each feature's rows to be (written
  by the applier, or read when a change from outside was recorded). A row that
  differs from both the mirror and every pending target was changed outside.
- `flipper_adoptions`: when an environment was first read from a Flipper
  database; before that, no write to it is accepted.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, Integer, String, Table

from flagramp.core.identifiers import ENVIRONMENT_MAX, FLAG_KEY_MAX
from flagramp.store.tables import Document, Name, metadata

PENDING = "pending"
APPLIED = "applied"
SUPERSEDED = "superseded"

flipper_outbox = Table(
    "flipper_outbox",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("environment", Name(ENVIRONMENT_MAX), nullable=False),
    Column("feature_key", Name(FLAG_KEY_MAX), nullable=False),
    Column("store_version", BigInteger, nullable=False),
    Column("target", Document, nullable=False),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("last_error", Document, nullable=True),
    Column("created_at", String(40), nullable=False),
    Column("applied_at", String(40), nullable=True),
    Index("ix_flipper_outbox_status", "environment", "status", "id"),
    Index("ix_flipper_outbox_feature", "environment", "feature_key", "id"),
)

flipper_mirror = Table(
    "flipper_mirror",
    metadata,
    Column("environment", Name(ENVIRONMENT_MAX), primary_key=True),
    Column("feature_key", Name(FLAG_KEY_MAX), primary_key=True),
    Column("rows", Document, nullable=False),
    Column("updated_at", String(40), nullable=False),
)

flipper_adoptions = Table(
    "flipper_adoptions",
    metadata,
    Column("environment", Name(ENVIRONMENT_MAX), primary_key=True),
    Column("flipper_url", Name(255), nullable=False),
    Column("store_version", BigInteger, nullable=False),
    Column("adopted_at", String(40), nullable=False),
)
