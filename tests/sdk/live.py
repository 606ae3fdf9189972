"""`flagramp serve` as a process the SDK tests can stop and start again on the
same port (tests/server/live_server.py picks a new port each time)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from flagramp.core.flags import Flag, Segment
from flagramp.store import SqlFlagStore
from flagramp.store.tokens import OwnerKind, Permission, TokenStore
from tests.server.conftest import SETUP
from tests.server.live_server import free_port

_MAIN = "from flagramp.cli.app import main; main()"


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
    """A SQLite store with these flags in production, an empty staging, tokens."""
    url = f"sqlite:///{directory / 'flagramp.db'}"
    store = SqlFlagStore.open(url)
    with store.unit_of_work(SETUP) as unit:
        for env in ("production", "staging"):
            unit.record(env, "environment", env, "create", None, {"name": env})
    for segment in segments:
        store.put_segment(segment, SETUP)
    for flag in flags:
        store.create_flag(flag, SETUP)
    issuer = TokenStore(store)

    def sdk_token(env: str) -> str:
        return issuer.issue(
            owner=f"app-{env}",
            owner_kind=OwnerKind.SERVICE,
            permission=Permission.SDK,
            environment=env,
            author=SETUP,
        ).token

    engineer = issuer.issue(
        owner="eng@example.org",
        owner_kind=OwnerKind.PERSON,
        permission=Permission.ENGINEER,
        author=SETUP,
    ).token
    return LiveStore(
        url, store, sdk_token("production"), sdk_token("staging"), engineer, free_port()
    )


@contextmanager
def running(live: LiveStore, workdir: Path) -> Iterator[str]:
    """`flagramp serve` on the store's port until the block ends; yields its URL."""
    env = {**os.environ, "FLAGRAMP_DATABASE_URL": live.url}
    log_path = workdir / f"serve-{live.port}-{time.monotonic_ns()}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-c", _MAIN, "serve", "--port", str(live.port)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=workdir,
        )
        try:
            _wait_healthy(live.base, process, log_path)
            yield live.base
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)


def _wait_healthy(base: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"flagramp serve exited: {log.read_text()[-2000:]}")
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(
                f"flagramp serve did not start: {log.read_text()[-2000:]}"
            )
        time.sleep(0.1)
