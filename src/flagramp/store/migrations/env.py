"""Alembic environment: runs on the connection flagramp hands it."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

connection: Connection | None = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - flagramp always passes a connection
    raise RuntimeError("flagramp's migrations run through flagramp.store.database")

context.configure(
    connection=connection,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
