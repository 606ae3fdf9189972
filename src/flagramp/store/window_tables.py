"""Tables for metric windows, the keys of ingested batches, and ingest scopes.

Defined on the store's one `metadata`; created by migrations 0002_metric_windows
(windows, batch keys of `WindowStore.add_batch`) and 0004_ingest_scopes (scopes,
their actors and batch keys, for `WindowStore.ingest`). `data` is LONGBLOB on
MySQL/MariaDB (migration 0003): BLOB holds only 64 KB, less than a window with many
sketches.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects import mysql

from flagramp.store.tables import MYSQL, metadata

#: One row per run, flag, lane and covered minutes: minute windows as they arrive,
#: hour and day windows after compaction. `data` is `stats.windows.to_bytes`.
metric_windows = Table(
    "metric_windows",
    metadata,
    Column("run", String(255), primary_key=True),
    Column("flag", String(255), primary_key=True),
    Column("lane", String(16), primary_key=True),
    Column("start_minute", BigInteger, primary_key=True),
    Column("end_minute", BigInteger, primary_key=True),
    Column(
        "data", LargeBinary().with_variant(mysql.LONGBLOB(), *MYSQL), nullable=False
    ),
)

#: Keys of batches already added to a run's windows: a batch delivered twice
#: counts once. Written in the same transaction as the windows it added.
ingested_batches = Table(
    "ingested_batches",
    metadata,
    Column("run", String(255), primary_key=True),
    Column("batch_key", String(255), primary_key=True),
    Column("windows", Integer, nullable=False),
)

#: One row per ingest scope: a run string (one per stage attempt) and a flag. Every
#: batch of the scope first updates its row, which takes the row's lock: batches of
#: one scope apply one at a time, on every backend, while other scopes go on.
#: `marks` is the scope's `stats.scope_state.MarkLayout` as JSON text.
ingest_scopes = Table(
    "ingest_scopes",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run", String(255), nullable=False),
    Column("flag", String(255), nullable=False),
    Column("environment", String(64), nullable=False),
    Column("marks", Text, nullable=False),
    Column("batches", BigInteger, nullable=False),
    Column("closed", Boolean, nullable=False),
    UniqueConstraint("run", "flag", name="uq_ingest_scopes_run_flag"),
)

#: One row per actor exposed in a scope, by actor hash (no actor ids are kept):
#: the lane of its latest exposure and its first-time marks (`ActorState`).
ingest_actors = Table(
    "ingest_actors",
    metadata,
    Column("scope_id", Integer, ForeignKey("ingest_scopes.id"), primary_key=True),
    Column("actor_hash", BigInteger, primary_key=True),
    Column("lane", String(16), nullable=False),
    Column("marks", BigInteger, nullable=False),
)

#: Keys of the batches a scope has ingested, until `forget_after` (epoch seconds):
#: after that every event of a redelivery is too old to count, so the key can go.
ingest_batch_keys = Table(
    "ingest_batch_keys",
    metadata,
    Column("scope_id", Integer, ForeignKey("ingest_scopes.id"), primary_key=True),
    Column("batch_key", String(255), primary_key=True),
    Column("forget_after", BigInteger, nullable=False),
    Index("ix_ingest_batch_keys_forget_after", "forget_after"),
)
