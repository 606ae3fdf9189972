"""flagramp's own tables. Other store modules define theirs on the same `metadata`.

JSON documents are kept as canonical text, not as a JSON column type: the audit
chain hashes the exact text, and PostgreSQL's jsonb would re-order keys.

On MySQL/MariaDB, documents are LONGTEXT (TEXT holds only 64 KB, less than a flag
with thousands of actors) and names compare byte for byte (`utf8mb4_bin`), as on
the other backends: the default collation would make `Search` and `search` one
flag. Name columns are exactly as wide as `core.identifiers` allows.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects import mysql
from sqlalchemy.types import TypeEngine

from flagramp.core.identifiers import (
    AUTHOR_MAX,
    ENTITY_KEY_MAX,
    ENTITY_KIND_MAX,
    ENVIRONMENT_MAX,
    FLAG_KEY_MAX,
    SEGMENT_NAME_MAX,
)

MYSQL = ("mysql", "mariadb")
#: Documents and free text: LONGTEXT on MySQL/MariaDB.
Document: TypeEngine[str] = Text().with_variant(mysql.LONGTEXT(), *MYSQL)


def Name(length: int) -> TypeEngine[str]:
    """A name column: compared byte for byte on every backend."""
    return String(length).with_variant(
        mysql.VARCHAR(length, charset="utf8mb4", collation="utf8mb4_bin"), *MYSQL
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
    Column("key", Name(64), primary_key=True),
    Column("int_value", BigInteger, nullable=True),
    Column("text_value", Document, nullable=True),
)

environments = Table(
    "environments",
    metadata,
    Column("name", Name(ENVIRONMENT_MAX), primary_key=True),
    Column("created_at", String(40), nullable=False),
)

flags = Table(
    "flags",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("environment", Name(ENVIRONMENT_MAX), nullable=False),
    Column("key", Name(FLAG_KEY_MAX), nullable=False),
    Column("state", Document, nullable=False),
    Column("version", BigInteger, nullable=False),
    Column("created_at", String(40), nullable=False),
    Column("updated_at", String(40), nullable=False),
    UniqueConstraint("environment", "key", name="uq_flags_environment_key"),
)

segments = Table(
    "segments",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("environment", Name(ENVIRONMENT_MAX), nullable=False),
    Column("name", Name(SEGMENT_NAME_MAX), nullable=False),
    Column("definition", Document, nullable=False),
    Column("version", BigInteger, nullable=False),
    Column("updated_at", String(40), nullable=False),
    UniqueConstraint("environment", "name", name="uq_segments_environment_name"),
)

#: The audit log and change feed: one row per change, chained (`store/audit.py`).
#: Every row of one unit of work carries its store version; the feed reads them
#: by (store_version, id) through an index, never by scanning the table.
audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", String(40), nullable=False),
    Column("actor", Name(AUTHOR_MAX), nullable=False),
    Column("reason", Document, nullable=False),
    Column("environment", Name(ENVIRONMENT_MAX), nullable=False),
    Column("entity_kind", Name(ENTITY_KIND_MAX), nullable=False),
    Column("entity_key", Name(ENTITY_KEY_MAX), nullable=False),
    Column("action", String(64), nullable=False),
    Column("before", Document, nullable=True),
    Column("after", Document, nullable=True),
    Column("store_version", BigInteger, nullable=False),
    Column("key_id", String(16), nullable=True),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    Index("ix_audit_log_version", "store_version", "id"),
    Index("ix_audit_log_environment_version", "environment", "store_version", "id"),
    Index("ix_audit_log_entity", "entity_kind", "environment", "entity_key", "id"),
)
