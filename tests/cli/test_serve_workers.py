"""`flagramp serve --workers N`: N uvicorn workers on one port, each a replica:
streams on every worker see a flag change made through any of them (SQLite:
each worker polls; PostgreSQL: each worker LISTENs), events are taken by
whichever worker answers and a batch key counts once across them."""

from __future__ import annotations

import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from typer.testing import CliRunner

from flagramp.cli.app import app
from tests.cli.conftest import assert_one_error
from tests.conftest import empty_database
from tests.server.live_server import (
    connections_held,
    seed_for_serving,
    serve_process,
    worker_pids,
)
from tests.server.sse_client import SseReader

WORKERS = 2
MAX_STREAMS = 24


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_two_workers_serve_streams_and_events(backend: str, tmp_path: Path) -> None:
    with empty_database(backend, tmp_path) as url:
        engineer, sdk = seed_for_serving(url)
        with serve_process(url, tmp_path, workers=WORKERS) as (base, process):
            pids = worker_pids(process)
            assert len(pids) == WORKERS
            port = int(urlsplit(base).port or 0)
            sdk_headers = {"authorization": f"Bearer {sdk}"}
            readers: list[SseReader] = []
            try:
                # Streams until every worker holds one (the kernel picks).
                while len(readers) < MAX_STREAMS:
                    reader = SseReader(f"{base}/api/v1/stream", sdk_headers)
                    assert reader.next(timeout=20).event == "snapshot"
                    readers.append(reader)
                    if all(connections_held(pid, port) for pid in pids):
                        break
                assert all(connections_held(pid, port) for pid in pids)
                time.sleep(0.5)  # every worker's listener is up well before this
                answer = httpx.post(
                    f"{base}/api/v1/flags/new_flow/enable",
                    json={"why": "workers test"},
                    headers={"authorization": f"Bearer {engineer}"},
                )
                assert answer.status_code == 200, answer.text
                changes = [r.next(timeout=10) for r in readers]
            finally:
                for reader in readers:
                    reader.close()
            assert {c.event for c in changes} == {"change"}
            assert len({c.id for c in changes}) == 1
            # Fresh connections each, so that both workers take some.
            body = {
                "batch_key": "k",
                "events": [{"type": "request", "at": time.time()}],
            }
            answers = [
                httpx.post(f"{base}/api/v1/events", json=body, headers=sdk_headers)
                for _ in range(6)
            ]
    assert {a.status_code for a in answers} == {200}
    assert [a.json()["duplicate"] for a in answers] == [False] + [True] * 5


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///:memory:"])
def test_an_in_memory_database_is_refused_with_several_workers(url: str) -> None:
    result = CliRunner().invoke(
        app, ["serve", "--workers", "2"], env={"FLAGRAMP_DATABASE_URL": url}
    )
    assert_one_error(result, "cannot be shared by several workers")
