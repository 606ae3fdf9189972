"""The store contract on every backend: memory, SQLite, PostgreSQL, MariaDB.

The `store` fixture (tests/store/conftest.py) is parametrized by backend; a later
backend (Flipper's own tables) runs the same tests with a fixture of its own.
"""

from __future__ import annotations

from tests.store.contract import *  # noqa: F403
