"""Fixtures: a store per test (a copy of one migrated SQLite file), the API in
process, and a client that sends what Flipper's HTTP adapter sends."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from flagramp.core.clock import VirtualClock
from flagramp.core.flags import Segment
from flagramp.server.flipper_api import flipper_api
from flagramp.store import Author, FlagStore, open_engine
from tests.server.flipper_api.adapter_client import FlipperHttpClient, asgi_sender

SETUP = Author("test-setup")

#: The environment's segments: "registered groups", as far as Flipper can tell.
SEGMENTS = (
    Segment.from_rules("admins", ["role == admin"]),
    Segment.from_rules("oracle", ["ehr in [oracle]"]),
)


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated database with the segments per test session, copied for every
    test (migrations cost more than the tests that use them)."""
    path = tmp_path_factory.mktemp("template") / "flagramp.db"
    store = FlagStore.open(f"sqlite:///{path}")
    for segment in SEGMENTS:
        store.put_segment(segment, SETUP)
    store.engine.dispose()
    return path


def fresh_store(template: Path, directory: Path) -> FlagStore:
    """A store of its own (a copy of the template), with the test segments."""
    target = directory / "flagramp.db"
    shutil.copyfile(template, target)
    return FlagStore(open_engine(f"sqlite:///{target}", migrate=False))


@pytest.fixture
def store(migrated_sqlite: Path, tmp_path: Path) -> FlagStore:
    return fresh_store(migrated_sqlite, tmp_path)


@pytest.fixture
def client(store: FlagStore) -> FlipperHttpClient:
    app = flipper_api(store, clock=VirtualClock(), random=lambda: 0.5)
    return FlipperHttpClient(asgi_sender(app))
