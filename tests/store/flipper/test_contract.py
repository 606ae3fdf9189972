"""The store contract on Flipper's tables: SQLite, PostgreSQL, MariaDB."""

from __future__ import annotations

from tests.store.contract import *  # noqa: F403
