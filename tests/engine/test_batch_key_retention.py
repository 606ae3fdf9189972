"""Retention of event batch keys (`engine.batch_key_retention`), on SQLite,
PostgreSQL and MariaDB: the controller's tick deletes a key past the period
and keeps a newer one, a batch retried inside the period still counts once
(and one retried after its key went is counted again, as documented), the
deletion goes in bounded chunks; the period comes from the environment."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa

from flagramp.core.clock import VirtualClock
from flagramp.core.errors import EngineError
from flagramp.core.events import EventBatch, Exposure, Variant
from flagramp.engine.batch_key_retention import (
    DEFAULT_RETENTION,
    expire_batch_keys,
    retention_from_env,
)
from flagramp.engine.controller import Controller
from flagramp.server.settings import ServerSettings
from flagramp.store import Author, SqlFlagStore
from flagramp.store.event_batches import Claim, EventBatchKeys
from flagramp.store.windows import WindowStore
from tests.conftest import SQL_BACKENDS, migrated_database

#: As the events route keeps a key: `KEY_LIFETIME` past the request.
LIFETIME = dt.timedelta(minutes=65)
ENV = "production"


@dataclass
class Keys:
    store: SqlFlagStore
    windows: WindowStore
    clock: VirtualClock

    def take(self, key: str) -> Claim:
        """The server's events path for a batch `key` at the clock's now."""
        now = self.clock.now()
        batch = EventBatch(key, (Exposure(now, "u1", "f", Variant.ON),))
        taken = self.windows.take(
            ENV, [], batch, received_at=now, forget_after=now + LIFETIME
        )
        return taken.claim

    def kept(self) -> list[str]:
        with self.store.engine.connect() as conn:
            rows = conn.execute(
                sa.text("SELECT batch_key FROM event_batches ORDER BY batch_key")
            )
            return [str(r[0]) for r in rows]


@pytest.fixture(params=SQL_BACKENDS)
def keys(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Keys]:
    with migrated_database(request, tmp_path) as url:
        store = SqlFlagStore.open(url)
        with store.unit_of_work(Author("setup")) as unit:
            unit.record(ENV, "environment", ENV, "create", None, {"name": ENV})
        yield Keys(store, WindowStore(store.engine), VirtualClock())
        store.engine.dispose()


def test_a_tick_deletes_the_old_key_and_keeps_the_new_one(keys: Keys) -> None:
    assert keys.take("old") is Claim.FRESH
    keys.clock.advance(DEFAULT_RETENTION + LIFETIME + dt.timedelta(minutes=1))
    assert keys.take("new") is Claim.FRESH
    controller = Controller(keys.store, keys.windows, keys.clock, send=None)
    report = controller.tick()
    assert report.batch_keys_deleted == 1
    assert keys.kept() == ["new"]
    # Inside the period a retried batch still counts once.
    keys.clock.advance(dt.timedelta(days=6))
    assert controller.tick().batch_keys_deleted == 0
    assert keys.take("new") is Claim.DUPLICATE
    # After it, its key is gone and it is counted again (the documented cost).
    assert keys.take("old") is Claim.FRESH


def test_the_period_is_the_controllers_setting(keys: Keys) -> None:
    keys.take("a")
    keys.clock.advance(dt.timedelta(hours=3))
    short = Controller(
        keys.store,
        keys.windows,
        keys.clock,
        send=None,
        batch_key_retention=dt.timedelta(hours=1),
    )
    assert short.tick().batch_keys_deleted == 1
    assert keys.kept() == []


def test_keys_go_in_bounded_chunks(keys: Keys) -> None:
    for i in range(5):
        keys.take(f"k{i}")
    keys.clock.advance(dt.timedelta(days=1))
    batch_keys = EventBatchKeys(keys.store.engine)
    now, day = keys.clock.now(), dt.timedelta(hours=12)
    assert batch_keys.expire(now - day, limit=2) == 2
    assert expire_batch_keys(batch_keys, now, day, chunk=1, max_chunks=2) == 2
    assert len(keys.kept()) == 1
    assert expire_batch_keys(batch_keys, now, day, chunk=2) == 1
    assert keys.kept() == []


def test_the_period_from_the_environment() -> None:
    name = "FLAGRAMP_BATCH_KEY_RETENTION_DAYS"
    assert retention_from_env({}) == dt.timedelta(days=7)
    assert retention_from_env({name: " 0.5 "}) == dt.timedelta(hours=12)
    assert ServerSettings.from_env({name: "30"}).batch_key_retention == dt.timedelta(
        days=30
    )
    for wrong in ("seven", "0", "-1", "nan", "inf"):
        with pytest.raises(EngineError, match=name):
            retention_from_env({name: wrong})
