"""Two server processes on one PostgreSQL: a change through one reaches a stream
client of the other, woken by LISTEN/NOTIFY (faster than its 5 s safety poll)."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import empty_database
from tests.server.live_server import seed_for_serving, server_process
from tests.server.sse_client import SseReader

pytestmark = pytest.mark.postgres


def test_a_change_through_one_replica_reaches_a_client_of_the_other(
    tmp_path: Path,
) -> None:
    with empty_database("postgres", tmp_path) as url:
        engineer, sdk = seed_for_serving(url)
        with server_process(url, tmp_path) as a, server_process(url, tmp_path) as b:
            reader = SseReader(f"{b}/api/v1/stream", {"authorization": f"Bearer {sdk}"})
            try:
                snapshot = reader.next(timeout=20)
                assert snapshot.event == "snapshot"
                time.sleep(0.5)  # the replica's listener is up well before this
                started = time.monotonic()
                answer = httpx.post(
                    f"{a}/api/v1/flags/new_flow/enable",
                    json={"why": "replica test"},
                    headers={"authorization": f"Bearer {engineer}"},
                )
                assert answer.status_code == 200, answer.text
                change = reader.next(timeout=10)
                took = time.monotonic() - started
            finally:
                reader.close()
    assert change.event == "change"
    assert int(change.id or 0) == int(snapshot.id or 0) + 1
    assert change.json()["changes"][0]["after"]["gates"]["boolean"] == "true"
    assert took < 2.5, f"{took:.2f} s: woken by the 5 s poll, not by NOTIFY"
