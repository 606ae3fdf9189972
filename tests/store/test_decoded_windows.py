"""`DecodedWindows`: rows whose bytes did not change are not decoded again;
a row merged since is decoded afresh, so reads equal uncached reads."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from flagramp.sim.events import minute_batch
from flagramp.sim.scenario import Scenario
from flagramp.stats.ingest import WindowIngest
from flagramp.store.windows import DecodedWindows, WindowStore
from tests.store.test_windows import SPECS, T0, batch_windows


@pytest.fixture
def store(tmp_path: Path) -> Iterator[WindowStore]:
    store = WindowStore.open(f"sqlite:///{tmp_path}/windows.db")
    yield store
    store.engine.dispose()


def _add(store: WindowStore, pipe: WindowIngest, minute: int, seed: int) -> None:
    scenario = Scenario(requests_per_minute=200, treatment_share=0.5)
    batch = minute_batch(seed, scenario, minute, flag="f", start=T0)
    assert store.add_batch("R1/p0/s0", f"{seed}:{minute}", batch_windows(pipe, batch))


def _same(a: object, b: object) -> bool:
    return repr(a) == repr(b)


def test_unchanged_rows_come_back_as_the_same_objects(store: WindowStore) -> None:
    pipe = WindowIngest("R1/p0/s0", "f", SPECS)
    for minute in range(3):
        _add(store, pipe, minute, 1)
    decoded = DecodedWindows()
    first = store.windows("R1/p0/s0", "f", decoded=decoded)
    again = store.windows("R1/p0/s0", "f", decoded=decoded)
    assert len(first) == 6 and len(decoded) == 6
    assert all(a is b for a, b in zip(first, again, strict=True))
    assert (decoded.hits, decoded.misses) == (6, 6)
    assert _same(again, store.windows("R1/p0/s0", "f"))


def test_a_row_merged_since_is_decoded_afresh(store: WindowStore) -> None:
    pipe = WindowIngest("R1/p0/s0", "f", SPECS)
    _add(store, pipe, 0, 1)
    decoded = DecodedWindows()
    before = store.windows("R1/p0/s0", "f", decoded=decoded)
    # A second batch into the same minute merges into the stored rows.
    _add(store, pipe, 0, 2)
    _add(store, pipe, 1, 2)
    after = store.windows("R1/p0/s0", "f", decoded=decoded)
    assert _same(after, store.windows("R1/p0/s0", "f"))
    assert not any(a is b for a, b in zip(before, after, strict=False))
    assert len(after) == 4


def test_the_limit_and_forgetting(store: WindowStore) -> None:
    pipe = WindowIngest("R1/p0/s0", "f", SPECS)
    for minute in range(3):
        _add(store, pipe, minute, 1)
    small = DecodedWindows(limit=4)
    store.windows("R1/p0/s0", "f", decoded=small)
    assert len(small) == 0  # the scope would pass the limit: not kept
    decoded = DecodedWindows()
    store.windows("R1/p0/s0", "f", decoded=decoded)
    decoded.keep_only("R1/", {("R1/p0/s0", "f")})
    assert len(decoded) == 6
    decoded.retain(lambda run: not run.startswith("R1/"))
    assert len(decoded) == 0
