"""The SSE stream against a real uvicorn: snapshot, changes in order, resume."""

from __future__ import annotations

from flagramp.core.flags import Flag
from flagramp.core.flags import operations as ops
from flagramp.server.app import create_app
from flagramp.server.settings import ServerSettings
from tests.server.conftest import SETUP, Api
from tests.server.live_server import serving
from tests.server.sse_client import SseReader


def _settings() -> ServerSettings:
    return ServerSettings(stream_poll_seconds=0.05, keepalive_seconds=0.5)


def test_stream_sends_a_snapshot_then_each_change_with_its_version(api: Api) -> None:
    store = api.store
    store.create_flag(Flag(key="new_flow"), SETUP)
    app = create_app(_settings(), store=store)
    with serving(app) as url:
        reader = SseReader(f"{url}/api/v1/stream", api.headers("sdk"))
        try:
            first = reader.next()
            assert first.event == "snapshot"
            assert first.id == str(store.version())
            assert [f["key"] for f in first.json()["flags"]] == ["new_flow"]
            store.change_flag("new_flow", ops.enable, SETUP, action="enable")
            store.create_flag(Flag(key="other"), SETUP, "staging")  # not this env
            store.change_flag("new_flow", ops.disable, SETUP)
            enabled, disabled = reader.next(), reader.next()
        finally:
            reader.close()
    assert (enabled.event, disabled.event) == ("change", "change")
    assert int(disabled.id or 0) == store.version()
    assert int(enabled.id or 0) == store.version() - 2
    change = enabled.json()["changes"][0]
    assert (change["kind"], change["key"], change["action"]) == (
        "flag",
        "new_flow",
        "enable",
    )
    assert change["after"]["gates"]["boolean"] == "true"
    assert disabled.json()["changes"][0]["after"]["gates"]["boolean"] is None


def test_last_event_id_resumes_with_every_change_after_it_and_no_snapshot(
    api: Api,
) -> None:
    store = api.store
    store.create_flag(Flag(key="a"), SETUP)
    seen = store.version()
    store.change_flag("a", ops.enable, SETUP)
    store.create_flag(Flag(key="b"), SETUP)
    app = create_app(_settings(), store=store)
    with serving(app) as url:
        headers = {**api.headers("viewer"), "last-event-id": str(seen)}
        reader = SseReader(f"{url}/api/v1/stream?environment=production", headers)
        try:
            got = [reader.next(), reader.next()]
            store.delete_flag("a", SETUP)
            deleted = reader.next()
        finally:
            reader.close()
    assert [e.event for e in got] == ["change", "change"]
    assert [int(e.id or 0) for e in got] == [seen + 1, seen + 2]
    assert deleted.json()["changes"] == [
        {"kind": "flag", "key": "a", "action": "delete", "after": None}
    ]


def test_an_unknown_last_event_id_gets_a_fresh_snapshot(api: Api) -> None:
    app = create_app(_settings(), store=api.store)
    with serving(app) as url:
        headers = {**api.headers("sdk"), "last-event-id": "999999"}
        reader = SseReader(f"{url}/api/v1/stream", headers)
        try:
            first = reader.next()
        finally:
            reader.close()
    assert first.event == "snapshot"
    assert first.id == str(api.store.version())


def test_keep_alive_comments_come_while_nothing_changes(api: Api) -> None:
    app = create_app(_settings(), store=api.store)
    with serving(app) as url:
        reader = SseReader(f"{url}/api/v1/stream", api.headers("sdk"))
        try:
            reader.next()
            comment = reader.next(timeout=5, skip_comments=False)
        finally:
            reader.close()
    assert (comment.event, comment.data) == ("comment", "keep-alive")
