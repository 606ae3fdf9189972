"""`WindowStore.take` failing mid-way: after the first scope's ingest was
written in the transaction, the next scope is closed, or the database fails
under it. Neither the key nor the first scope's windows and actor states stay,
so the retry counts the batch once, in full."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from flagramp.core.errors import StoreError
from flagramp.stats.batch_ingest import BatchIngest
from flagramp.store import windows as window_module
from flagramp.store.event_batches import Claim
from flagramp.store.ingest_scopes import ScopeClosed, apply_batches
from flagramp.store.windows import WindowStore
from tests.store.test_event_intake import LATER, NOW, batch, exposed, kept_keys, pipe

FIRST, LAST = "run-1/p/s/1", "run-9/p/s/1"  # `take` applies them in this order


@pytest.fixture
def sqlite(tmp_path: Path) -> Iterator[WindowStore]:
    store = WindowStore.open(f"sqlite:///{tmp_path / 'flagramp.db'}")
    store.open_scope(FIRST, "f", "production")
    store.open_scope(LAST, "f", "production")
    yield store
    store.engine.dispose()


def _take(store: WindowStore) -> Any:
    # The same pipes for the failed take and the retry, as the server keeps
    # them (`server.event_sinks`): what a rolled-back ingest did to one must
    # not count.
    pipes: list[BatchIngest] = store.__dict__.setdefault(
        "_test_pipes", [pipe(LAST), pipe(FIRST)]
    )
    return store.take(
        "production",
        pipes,
        batch("k", "a", "b"),
        received_at=NOW,
        forget_after=LATER,
    )


def _nothing_kept(store: WindowStore) -> None:
    assert kept_keys(store) == []
    assert exposed(store, FIRST) == 0
    assert store.scope_actors(FIRST, "f") == 0


def test_a_scope_closed_after_the_first_wrote_leaves_nothing(
    sqlite: WindowStore,
) -> None:
    sqlite.close_scope(LAST, "f")
    with pytest.raises(ScopeClosed):
        _take(sqlite)
    _nothing_kept(sqlite)


def test_a_database_failure_after_the_first_wrote_leaves_nothing(
    sqlite: WindowStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = apply_batches
    calls: list[str] = []

    def failing_second(conn: sa.Connection, p: Any, *args: Any, **kw: Any) -> Any:
        calls.append(p.run)
        if len(calls) == 2:
            raise sa.exc.OperationalError("INSERT", {}, Exception("disk I/O error"))
        return real(conn, p, *args, **kw)

    monkeypatch.setattr(window_module, "apply_batches", failing_second)
    with pytest.raises(StoreError):
        _take(sqlite)
    assert calls == [FIRST, LAST]
    _nothing_kept(sqlite)
    monkeypatch.setattr(window_module, "apply_batches", real)
    retry = _take(sqlite)
    assert retry.claim is Claim.FRESH
    assert exposed(sqlite, FIRST) == exposed(sqlite, LAST) == 2
