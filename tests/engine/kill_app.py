"""The server of the kill -9 test, for `uvicorn --factory`: the real app on
FLAGRAMP_DATABASE_URL, its clock read from the file FLAGRAMP_TEST_CLOCK_FILE.

The test moves virtual time by rewriting that file, so a restarted server
dates people's commands and events exactly as the killed one would have.
uvicorn on the factory starts in about half the time of `flagramp serve`,
which imports the whole CLI first.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

from fastapi import FastAPI

from flagramp.server.app import create_app
from flagramp.server.settings import ServerSettings
from flagramp.store import SqlFlagStore
from flagramp.store.database import open_engine

CLOCK_FILE = "FLAGRAMP_TEST_CLOCK_FILE"


class FileClock:
    """Now is the ISO time written in a file (the test's virtual clock)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def now(self) -> dt.datetime:
        return dt.datetime.fromisoformat(self.path.read_text().strip())


def app() -> FastAPI:
    """The app, as uvicorn's `--factory` calls it."""
    settings = ServerSettings.from_env()
    clock = FileClock(Path(os.environ[CLOCK_FILE]))
    # The store dates its audit rows by its own clock: the file's too.
    store = SqlFlagStore(open_engine(os.environ["FLAGRAMP_DATABASE_URL"]), clock)
    return create_app(settings, store=store, clock=clock)
