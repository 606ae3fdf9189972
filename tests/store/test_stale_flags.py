"""Flags fully on for longer than a time, from their audit history."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from flagramp.core.flags import Flag, Percentage
from flagramp.core.flags import operations as ops
from flagramp.store import Author, FlagChange, SqlFlagStore
from flagramp.store.stale_flags import fully_on_since, stale_flags

ENV = "production"
ALICE, BOB = Author("alice@va.gov"), Author("bob@va.gov")


def _pct(value: float) -> FlagChange:
    return lambda f: ops.set_percentage_of_actors(f, Percentage.parse(value))


@pytest.fixture
def store(tmp_path: Path) -> SqlFlagStore:
    store = SqlFlagStore.open(f"sqlite:///{tmp_path / 'stale.db'}")
    for key in ("launched", "half", "again", "planned", "never"):
        store.create_flag(Flag(key), ALICE, ENV)
    store.change_flag("launched", ops.enable, BOB, ENV, "enable")
    store.change_flag("half", _pct(100), ALICE, ENV)
    store.change_flag("half", _pct(50), ALICE, ENV)
    store.change_flag("again", _pct(100), ALICE, ENV)
    store.change_flag("again", ops.disable, ALICE, ENV, "disable")
    store.change_flag("again", _pct(100), BOB, ENV)
    store.change_flag("planned", ops.enable, ALICE, ENV, "enable")
    return store


def _stale(
    store: SqlFlagStore, now: dt.datetime, days: int, running: tuple[str, ...] = ()
) -> dict[str, str]:
    flags = store.list_flags(ENV)
    found = stale_flags(
        flags,
        {f.key: store.history(f.key, ENV) for f in flags},
        environment=ENV,
        now=now,
        older_than=dt.timedelta(days=days),
        running=running,
    )
    return {s.key: s.by for s in found}


def test_flags_fully_on_past_the_age_and_without_a_run_are_listed(
    store: SqlFlagStore,
) -> None:
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=31)
    assert _stale(store, later, 30, running=("planned",)) == {
        "launched": "bob@va.gov",
        "again": "bob@va.gov",
    }
    assert "planned" in _stale(store, later, 30)
    # Not old enough yet.
    assert _stale(store, later, 40) == {}
    assert _stale(store, dt.datetime.now(dt.UTC), 30) == {}


def test_the_fully_on_stretch_starts_at_the_last_change_that_turned_it_on(
    store: SqlFlagStore,
) -> None:
    history = store.history("again", ENV)
    since = fully_on_since(history)
    assert since is not None
    assert since[1] == "bob@va.gov"
    assert since[0] == dt.datetime.fromisoformat(history[-1].at).replace(
        tzinfo=since[0].tzinfo
    )
    assert fully_on_since(store.history("half", ENV)) is None
    assert fully_on_since(store.history("never", ENV)) is None
    assert fully_on_since([]) is None
