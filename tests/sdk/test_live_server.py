"""The SDK against a real `flagramp serve` process on a loopback port.

Server stopped: the SDK keeps serving the last flags. Server back: it catches up
through the stream's resumption, one change event per store version (no gap,
no snapshot in between), and delivers the events it kept.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import httpx
import pytest

from flagramp.core.flags import Flag, Percentage, Segment
from flagramp.sdk import Client, FlagsChanged
from tests.sdk.fake_server import wait_for
from tests.sdk.live import live_store, running
from tests.server.conftest import SETUP

ORACLE = Segment.from_rules("oracle", ["ehr == oracle"])
FLAGS = [
    Flag(key="new_flow", percentage_of_actors=Percentage.parse("25")),
    Flag(key="oracle_scheduling", boolean=True, eligibility="oracle"),
]
ACTORS = [(f"User;{i}", {"ehr": "oracle" if i % 2 else "vista"}) for i in range(400)]
FAST: dict[str, Any] = {"retry_base": 0.05, "retry_max": 0.5}


def answers(client: Client) -> list[bool]:
    keys = sorted(client.flag_keys)
    return [client.is_enabled(k, a, p) for k in keys for a, p in ACTORS]


def test_the_sdk_serves_through_an_outage_and_catches_up_without_a_gap(
    tmp_path: Path,
) -> None:
    live = live_store(tmp_path, FLAGS, [ORACLE])
    cache = tmp_path / "sdk-cache.json"
    changes: list[FlagsChanged] = []
    with running(live, tmp_path) as base:
        client = Client(
            base, live.sdk, "production", cache_path=cache, flush_interval=0.2, **FAST
        )
        client.on_change(changes.append)
        assert client.wait_until_ready(20)
        answer = httpx.put(
            f"{base}/api/v1/flags/new_flow/percentage",
            json={"percentage": 50, "why": "sdk test"},
            headers=live.as_engineer(),
        )
        assert answer.status_code == 200, answer.text
        wait_for(lambda: client.version == live.store.version(), timeout=20)
        before_outage = answers(client)
        assert 0.4 < sum(before_outage[:400]) / 400 < 0.6  # new_flow at 50 %

    # The server is down: the client serves what it had, and records events.
    assert answers(client) == before_outage
    seen_before = len(changes)
    down_at = client.version
    assert down_at is not None
    live.store.change_flag(
        "new_flow",
        lambda f: f.with_changes(percentage_of_actors=Percentage.parse("100")),
        SETUP,
    )
    live.store.create_flag(Flag(key="added_while_down", boolean=True), SETUP)
    live.store.put_segment(
        Segment.from_rules("oracle", ["ehr in [oracle, vista]"]), SETUP
    )
    assert client.version == down_at

    with running(live, tmp_path):
        wait_for(lambda: len(changes) == seen_before + 3, timeout=30)
        assert client.version == live.store.version()
        after = changes[seen_before:]
        assert [c.version for c in after] == [down_at + 1, down_at + 2, down_at + 3]
        assert [c.keys for c in after] == [
            ("new_flow",),
            ("added_while_down",),
            ("oracle_scheduling",),
        ]
        assert all(client.is_enabled("new_flow", a) for a, _ in ACTORS)
        assert client.is_enabled("oracle_scheduling", "User;2", {"ehr": "vista"})
        assert client.flush(timeout=20)
        counts = client._outbox.counts
        assert counts.sent > 800 and counts.rejected == 0 and counts.dropped == 0
        client.close()

    # A restart with the server still away serves the cached flags.
    with Client(
        live.base, live.sdk, "production", cache_path=cache, **FAST
    ) as restarted:
        assert restarted.source == "cache"
        assert restarted.version == live.store.version()
        assert restarted.is_enabled("added_while_down")


def test_a_token_of_another_environment_is_refused_and_said_so(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    live = live_store(tmp_path, FLAGS, [ORACLE])
    with (
        running(live, tmp_path) as base,
        caplog.at_level(logging.WARNING, logger="flagramp.sdk"),
        Client(base, live.sdk_staging, "production", **FAST) as client,
    ):
        assert client.wait_until_ready(1.5) is False
        assert client.is_enabled("new_flow", "User;1", default=True) is True
    messages = " ".join(r.getMessage() for r in caplog.records)
    assert "403 wrong_environment" in messages


def test_polling_a_real_server_uses_its_etag(tmp_path: Path) -> None:
    live = live_store(tmp_path, FLAGS, [ORACLE])
    with (
        running(live, tmp_path) as base,
        Client(
            base,
            live.sdk,
            "production",
            updates="poll",
            poll_interval=0.1,
            send_events=False,
            **FAST,
        ) as client,
    ):
        assert client.wait_until_ready(20)
        answer = httpx.post(
            f"{base}/api/v1/flags/new_flow/enable",
            json={"why": "sdk poll test"},
            headers=live.as_engineer(),
        )
        assert answer.status_code == 200, answer.text
        wait_for(lambda: client.version == live.store.version(), timeout=20)
        assert client.is_enabled("new_flow", "User;1")
