"""Streams and SDKs across a backup restore (issue 22): every stream client gets
a fresh snapshot, a `Last-Event-ID` from before the restore gets one too, the
SDKs (sync and async) replace their flags and their cache file, and the
snapshot's ETag changes with the store's epoch. On SQLite (one server in a
thread) and on PostgreSQL (two server processes, woken by LISTEN/NOTIFY)."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import pytest

from flagramp.core.flags import Flag
from flagramp.core.flags import operations as ops
from flagramp.sdk import AsyncClient, Client
from flagramp.server.app import create_app
from flagramp.server.settings import ServerSettings
from flagramp.store import SqlFlagStore
from flagramp.store.backups import create_backup, restore_backup
from flagramp.store.database import begin_write
from flagramp.store.epochs import INITIAL_EPOCH, set_epoch
from flagramp.store.tokens import OwnerKind, Permission, TokenStore
from tests.conftest import empty_database
from tests.sdk.fake_server import wait_for
from tests.server.conftest import SETUP, Api
from tests.server.live_server import serving
from tests.server.sse_client import SseEvent, SseReader

FAST: dict[str, Any] = {"retry_base": 0.05, "retry_max": 0.5}
#: How soon after a restore the SDK must serve the backup's flags.
WITHIN = 2.0


def _settings() -> ServerSettings:
    return ServerSettings(stream_poll_seconds=0.05, keepalive_seconds=0.5)


def _history(store: SqlFlagStore, folder: Path) -> Path:
    """new_flow enabled, a backup, then new_flow disabled and a flag added; the
    backup's file (holding new_flow on and no `later`)."""
    store.change_flag("new_flow", ops.enable, SETUP, action="enable")
    ref = create_backup(store, label="before", author=SETUP, directory=folder)
    assert ref.path is not None
    store.change_flag("new_flow", ops.disable, SETUP, action="disable")
    store.create_flag(Flag(key="later"), SETUP)
    return ref.path


def _on(client: Client | AsyncClient) -> bool:
    return client.is_enabled("new_flow", "User;1")


def _cached_keys(path: Path) -> list[str]:
    return sorted(f["key"] for f in json.loads(path.read_text())["flags"])


def test_a_connected_sdk_takes_the_backups_flags_and_cache_after_a_restore(
    api: Api, tmp_path: Path
) -> None:
    store = api.store
    store.create_flag(Flag(key="new_flow"), SETUP)
    cache = tmp_path / "cache.json"
    with serving(create_app(_settings(), store=store)) as url:
        client = Client(url, api.tokens["sdk"], "production", cache_path=cache, **FAST)
        try:
            assert client.wait_until_ready(10)
            backup = _history(store, tmp_path)
            wait_for(lambda: "later" in client.flag_keys and not _on(client))
            restore_backup(store, backup, author=SETUP, force=True)
            started = time.monotonic()
            wait_for(lambda: "later" not in client.flag_keys, timeout=WITHIN)
            took = time.monotonic() - started
            assert _on(client)
            assert client.version == store.version()
            # The cache file is written just after the flags are swapped in.
            wait_for(lambda: _cached_keys(cache) == ["new_flow"], timeout=1)
            assert json.loads(cache.read_text())["version"] == store.version()
            # It resumes in the new epoch: the id it keeps carries it.
            wait_for(lambda: (client._position or "").startswith(f"{store.version()}."))
            store.create_flag(Flag(key="after"), SETUP)
            wait_for(lambda: "after" in client.flag_keys)
        finally:
            client.close()
    assert took < WITHIN


def test_the_async_sdk_takes_the_backups_flags_after_a_restore(
    api: Api, tmp_path: Path
) -> None:
    store = api.store
    store.create_flag(Flag(key="new_flow"), SETUP)
    cache = tmp_path / "cache.json"

    async def scenario(url: str) -> None:
        async with AsyncClient(
            url, api.tokens["sdk"], "production", cache_path=cache, **FAST
        ) as client:
            assert await client.wait_until_ready(10)
            backup = await asyncio.to_thread(_history, store, tmp_path)
            await _until(lambda: "later" in client.flag_keys, 5)
            await asyncio.to_thread(
                restore_backup, store, backup, author=SETUP, force=True
            )
            await _until(lambda: "later" not in client.flag_keys, WITHIN)
            assert _on(client) and client.version == store.version()
            await _until(lambda: _cached_keys(cache) == ["new_flow"], 1)

    with serving(create_app(_settings(), store=store)) as url:
        asyncio.run(scenario(url))


async def _until(condition: Any, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the condition did not hold in time"
        await asyncio.sleep(0.01)


def test_streams_get_a_snapshot_after_a_restore_and_old_ids_do_not_resume(
    api: Api, tmp_path: Path
) -> None:
    store = api.store
    store.create_flag(Flag(key="new_flow"), SETUP)
    headers = api.headers("sdk")
    with serving(create_app(_settings(), store=store)) as url:
        stream = f"{url}/api/v1/stream"
        reader = SseReader(stream, headers)
        try:
            assert reader.next().event == "snapshot"
            backup = _history(store, tmp_path)
            changes = [reader.next(), reader.next(), reader.next()]
            old_id = changes[-1].id or ""
            assert [e.event for e in changes] == ["change"] * 3
            restore_backup(store, backup, author=SETUP, force=True)
            reloaded = reader.next(timeout=WITHIN)
        finally:
            reader.close()
        version = store.version()
        assert reloaded.event == "snapshot"
        assert reloaded.id is not None and reloaded.id.startswith(f"{version}.")
        assert int(old_id) < version  # versions never go back across a restore
        document = reloaded.json()
        assert document["version"] == version
        assert [f["key"] for f in document["flags"]] == ["new_flow"]

        def first(last_event_id: str) -> Any:
            resumed = SseReader(stream, {**headers, "last-event-id": last_event_id})
            try:
                return resumed.next()
            finally:
                resumed.close()

        # From before the restore, or of another epoch: a snapshot, not a diff.
        assert first(old_id).event == "snapshot"
        assert first(f"{version}.0badc0ffee00").event == "snapshot"
        assert first(str(version)).event == "snapshot"
        # With the new id: every change after it, and no snapshot.
        resumed = SseReader(stream, {**headers, "last-event-id": reloaded.id})
        try:
            store.create_flag(Flag(key="after"), SETUP)
            change = resumed.next()
        finally:
            resumed.close()
    assert change.event == "change"
    assert change.id == f"{version + 1}.{reloaded.id.partition('.')[2]}"


def test_the_snapshot_etag_changes_with_the_epoch_at_the_same_version(
    api: Api,
) -> None:
    path = "/api/v1/environments/production/snapshot"
    before = api.client.get(path, headers=api.headers("sdk"))
    version = api.store.version()
    assert before.headers["etag"] == f'"{version}"'
    assert api.store.position().epoch == INITIAL_EPOCH
    with begin_write(api.store.engine) as conn:
        set_epoch(conn, "0123456789ab")  # as a restore does, version aside
    assert api.store.version() == version
    asked = {**api.headers("sdk"), "if-none-match": before.headers["etag"]}
    after = api.client.get(path, headers=asked)
    assert after.status_code == 200
    assert after.headers["etag"] == f'"{version}.0123456789ab"'
    again = api.client.get(
        path, headers={**asked, "if-none-match": after.headers["etag"]}
    )
    assert again.status_code == 304


@pytest.mark.postgres
def test_both_replicas_on_postgresql_send_their_clients_the_restored_flags(
    tmp_path: Path,
) -> None:
    # Two apps, each with its own store, hub and LISTEN connection (in threads:
    # a `flagramp serve` process each would cost seconds to start). The restore
    # comes from a third store, as from the CLI.
    with empty_database("postgres", tmp_path) as url:
        store = SqlFlagStore.open(url)
        store.create_flag(Flag(key="new_flow"), SETUP)
        sdk = (
            TokenStore(store)
            .issue(
                owner="app",
                owner_kind=OwnerKind.SERVICE,
                permission=Permission.SDK,
                environment="production",
                author=SETUP,
            )
            .token
        )
        replicas = [SqlFlagStore.open(url) for _ in range(2)]
        # Polled every 5 s, so only NOTIFY is fast enough for WITHIN.
        settings = ServerSettings(notified_poll_seconds=5.0, keepalive_seconds=0.5)
        try:
            with (
                serving(create_app(settings, store=replicas[0])) as a,
                serving(create_app(settings, store=replicas[1])) as b,
            ):
                events, client, took = _across_replicas(store, a, b, sdk, tmp_path)
        finally:
            for each in (*replicas, store):
                each.engine.dispose()
    # Replica a's client: the three changes, then the restored snapshot.
    assert [e.event for e in events] == ["change"] * 3 + ["snapshot"]
    assert [f["key"] for f in events[-1].json()["flags"]] == ["new_flow"]
    assert _on(client)
    assert took < WITHIN, f"{took:.2f} s: woken by the 5 s poll, not by NOTIFY"


def _across_replicas(
    store: SqlFlagStore, a: str, b: str, sdk: str, folder: Path
) -> tuple[list[SseEvent], Client, float]:
    reader = SseReader(f"{a}/api/v1/stream", {"authorization": f"Bearer {sdk}"})
    client = Client(b, sdk, "production", **FAST)
    try:
        assert reader.next(timeout=10).event == "snapshot"
        assert client.wait_until_ready(10)
        backup = _history(store, folder)
        wait_for(lambda: "later" in client.flag_keys, timeout=WITHIN)
        restore_backup(store, backup, author=SETUP, force=True)
        started = time.monotonic()
        wait_for(lambda: "later" not in client.flag_keys, timeout=WITHIN)
        took = time.monotonic() - started
        events = [reader.next(timeout=WITHIN) for _ in range(4)]
    finally:
        client.close()
        reader.close()
    return events, client, took
