"""The fail-static cache: a restart without the server serves the last flags."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from flagramp.core.errors import InvalidSnapshot
from flagramp.core.flags import Flag, Percentage, Segment, export_document
from flagramp.sdk import Client
from tests.sdk.fake_server import FakeServer, wait_for
from tests.sdk.helpers import snapshot_of

FLAGS = [
    Flag(key="kill_switch", boolean=True),
    Flag(key="half", percentage_of_actors=Percentage.parse("50"), eligibility="oracle"),
]
ORACLE = Segment.from_rules("oracle", ["ehr == oracle"])
ACTORS = [(f"User;{i}", {"ehr": "oracle" if i % 3 else "vista"}) for i in range(500)]


@pytest.fixture
def server() -> Iterator[FakeServer]:
    server = FakeServer()
    server.set_segment(ORACLE)
    for flag in FLAGS:
        server.set_flag(flag)
    yield server
    server.close()


def client_for(server: FakeServer, cache: Path, **options: Any) -> Client:
    return Client(
        "http://flags.test",
        "t",
        "production",
        transport=server.transport(),
        cache_path=cache,
        send_events=False,
        retry_base=0.01,
        retry_max=0.05,
        **options,
    )


def answers(client: Client) -> list[bool]:
    return [client.is_enabled(f.key, a, p) for f in FLAGS for a, p in ACTORS]


def test_a_restart_without_the_server_serves_the_last_flags(
    server: FakeServer, tmp_path: Path
) -> None:
    cache = tmp_path / "flags.json"
    with client_for(server, cache) as first:
        assert first.wait_until_ready(5)
        served = answers(first)
        assert first.source == "server"
    server.down = True
    with client_for(server, cache) as restarted:
        assert restarted.source == "cache" and restarted.version == server.version
        assert restarted.wait_until_ready(0.2) is False
        assert answers(restarted) == served
    assert any(served) and not all(served)


def test_the_cache_follows_every_change(server: FakeServer, tmp_path: Path) -> None:
    cache = tmp_path / "flags.json"
    with client_for(server, cache) as client:
        assert client.wait_until_ready(5)
        version = server.set_flag(Flag(key="kill_switch"))
        wait_for(lambda: client.version == version)
    stored = json.loads(cache.read_text())
    assert stored["format"] == "flagramp-sdk-cache" and stored["version"] == version
    with Client(None, None, "production", cache_path=cache) as offline:
        assert offline.is_enabled("kill_switch", default=True) is False


def test_a_cache_that_came_back_is_replaced_when_the_server_answers(
    server: FakeServer, tmp_path: Path
) -> None:
    cache = tmp_path / "flags.json"
    with client_for(server, cache) as first:
        assert first.wait_until_ready(5)
    server.set_flag(Flag(key="late", boolean=True))
    with client_for(server, cache) as second:
        assert second.wait_until_ready(5)
        assert second.is_enabled("late") and second.source == "server"
        # the first connection starts from a snapshot, whatever the cache holds
        stream = [r for r in server.requests if r.url.path == "/api/v1/stream"]
        assert "last-event-id" not in stream[-1].headers


DAMAGE: list[tuple[str, bytes]] = [
    ("binary", b"\x00\xff\xfe garbage"),
    ("truncated", b'{"format": "flagramp-sdk-cache", "format_version": 1, "env'),
    ("not ours", json.dumps(snapshot_of(FLAGS)).encode()),
    (
        "future format",
        json.dumps({"format": "flagramp-sdk-cache", "format_version": 99}).encode(),
    ),
    (
        "other environment",
        json.dumps(
            {
                "format": "flagramp-sdk-cache",
                "format_version": 1,
                **snapshot_of(FLAGS, environment="staging"),
            }
        ).encode(),
    ),
    (
        "bad frame",
        json.dumps(
            {
                "format": "flagramp-sdk-cache",
                "format_version": 1,
                "environment": "production",
                "version": "x",
                "flags": [],
            }
        ).encode(),
    ),
]


@pytest.mark.parametrize(("what", "content"), DAMAGE, ids=[d[0] for d in DAMAGE])
def test_a_damaged_cache_is_ignored_with_one_log_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, what: str, content: bytes
) -> None:
    cache = tmp_path / "flags.json"
    cache.write_bytes(content)
    with (
        caplog.at_level(logging.WARNING, logger="flagramp.sdk"),
        Client(None, None, "production", cache_path=cache) as client,
    ):
        assert client.source == "none"
        assert client.is_enabled("kill_switch", default=True) is True
    assert len(caplog.records) == 1
    assert "ignoring the flag cache" in caplog.records[0].getMessage()


def test_a_failed_write_leaves_the_previous_cache_and_no_temporary_file(
    server: FakeServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    cache = tmp_path / "flags.json"
    with client_for(server, cache) as client:
        assert client.wait_until_ready(5)
        before = cache.read_bytes()

        def full_disk(_src: object, _dst: object) -> None:
            raise OSError(28, "No space left on device")

        monkeypatch.setattr(os, "replace", full_disk)
        with caplog.at_level(logging.WARNING, logger="flagramp.sdk"):
            for key in ("x", "y"):
                version = server.set_flag(Flag(key=key, boolean=True))
                wait_for(lambda v=version: client.version == v)  # type: ignore[misc]
        assert client.is_enabled("y")  # serving goes on
    assert cache.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["flags.json"]
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 1 and "No space left" in warnings[0]


def test_an_unwritable_cache_directory_does_not_stop_the_client(
    server: FakeServer, tmp_path: Path
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with client_for(server, blocker / "flags.json") as client:
        assert client.wait_until_ready(5)
        assert client.is_enabled("kill_switch")


def test_the_newer_of_bootstrap_and_cache_is_served(tmp_path: Path) -> None:
    cache = tmp_path / "flags.json"
    cache.write_text(
        json.dumps(
            {
                "format": "flagramp-sdk-cache",
                "format_version": 1,
                **snapshot_of([Flag(key="a", boolean=True)], version=7),
            }
        )
    )
    older = snapshot_of([Flag(key="a")], version=3)
    newer = snapshot_of([Flag(key="a")], version=9)
    with Client(None, None, "production", cache_path=cache, bootstrap=older) as c:
        assert (c.source, c.is_enabled("a")) == ("cache", True)
    with Client(None, None, "production", cache_path=cache, bootstrap=newer) as c:
        assert (c.source, c.is_enabled("a")) == ("bootstrap", False)


def test_a_flipper_export_file_bootstraps_a_client(tmp_path: Path) -> None:
    path = tmp_path / "flipper.json"
    path.write_text(json.dumps(export_document([Flag(key="a", actors=("User;1",))])))
    with Client(None, None, "production", bootstrap=path) as client:
        assert client.is_enabled("a", "User;1") and not client.is_enabled("a", "User;2")


@pytest.mark.parametrize(
    ("content", "complaint"),
    [(None, "cannot be read"), ("{", "is not JSON"), ("[]", "JSON object")],
)
def test_a_bad_bootstrap_file_is_refused_at_once_naming_it(
    tmp_path: Path, content: str | None, complaint: str
) -> None:
    path = tmp_path / "boot.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(InvalidSnapshot, match=complaint) as caught:
        Client(None, None, "production", bootstrap=path)
    assert caught.value.source == str(path)
