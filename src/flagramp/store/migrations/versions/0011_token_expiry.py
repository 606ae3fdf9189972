"""API tokens may expire: a nullable `expires_at` on `api_tokens`.

Revision ID: 0011_token_expiry
Revises: 0010_runs

ISO 8601 text in UTC to the second, as `created_at` and `revoked_at` are; NULL
(every token issued before this revision) never expires. A nullable column with
no default: no rows are rewritten, and SQLite adds it without copying the table.
Other branches add migrations beside this one; when they are merged, this
revision's `down_revision` becomes the newest of theirs (one line).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011_token_expiry"
down_revision = "0010_runs"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("api_tokens", sa.Column("expires_at", sa.String(40), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("api_tokens") as batch:
        batch.drop_column("expires_at")
