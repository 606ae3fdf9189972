"""flagramp's own tables. Other store modules define theirs on the same `metadata`.

JSON documents are kept as canonical text, not as a JSON column type: the audit
chain hashes the exact text, and PostgreSQL's jsonb would re-order keys.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "pk": "pk_%(table_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    }
)

#: Counters and hashes that describe the whole store (`version`, `audit_head`).
store_meta = Table(
    "store_meta",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("int_value", BigInteger, nullable=True),
    Column("text_value", Text, nullable=True),
)

environments = Table(
    "environments",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("created_at", String(40), nullable=False),
)

flags = Table(
    "flags",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("environment", String(64), nullable=False),
    Column("key", String(255), nullable=False),
    Column("state", Text, nullable=False),
    Column("version", BigInteger, nullable=False),
    Column("created_at", String(40), nullable=False),
    Column("updated_at", String(40), nullable=False),
    UniqueConstraint("environment", "key", name="uq_flags_environment_key"),
)

segments = Table(
    "segments",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("environment", String(64), nullable=False),
    Column("name", String(255), nullable=False),
    Column("definition", Text, nullable=False),
    Column("version", BigInteger, nullable=False),
    Column("updated_at", String(40), nullable=False),
    UniqueConstraint("environment", "name", name="uq_segments_environment_name"),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", String(40), nullable=False),
    Column("actor", String(255), nullable=False),
    Column("reason", Text, nullable=False),
    Column("environment", String(64), nullable=False),
    Column("entity", String(300), nullable=False),
    Column("action", String(64), nullable=False),
    Column("before", Text, nullable=True),
    Column("after", Text, nullable=True),
    Column("store_version", BigInteger, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
)
