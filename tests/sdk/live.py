"""`flagramp serve` as a process the SDK tests can stop and start again on the
same port: the store and tokens keep their port (tests/server/live_server.py
starts the process)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from flagramp.core.flags import Flag, Segment
from flagramp.store import SqlFlagStore
from flagramp.store.tokens import Permission
from tests.server.conftest import SETUP, issue_tokens
from tests.server.live_server import free_port, serve_process


@dataclass(frozen=True)
class LiveStore:
    """A store a server process serves, with tokens to call it."""

    url: str
    store: SqlFlagStore
    sdk: str
    sdk_staging: str
    engineer: str
    port: int

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def as_engineer(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self.engineer}"}


def live_store(
    directory: Path, flags: list[Flag], segments: list[Segment]
) -> LiveStore:
    """A SQLite store with these flags in production, an empty staging, tokens
    (`tests.server.conftest.issue_tokens`)."""
    url = f"sqlite:///{directory / 'flagramp.db'}"
    store = SqlFlagStore.open(url)
    with store.unit_of_work(SETUP) as unit:
        for env in ("production", "staging"):
            unit.record(env, "environment", env, "create", None, {"name": env})
    for segment in segments:
        store.put_segment(segment, SETUP)
    for flag in flags:
        store.create_flag(flag, SETUP)
    tokens = issue_tokens(store)
    return LiveStore(
        url,
        store,
        tokens["sdk"],
        tokens["sdk_staging"],
        tokens[Permission.ENGINEER.value],
        free_port(),
    )


@contextmanager
def running(live: LiveStore, workdir: Path) -> Iterator[str]:
    """`flagramp serve` on the store's port until the block ends; yields its URL."""
    with serve_process(live.url, workdir, port=live.port) as (url, _):
        yield url
