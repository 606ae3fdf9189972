"""`GroupVersion`: the events writer reads the store's version once a group,
shared by its token check and the runs' routes; other threads read their own."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from flagramp.server.app import create_app
from flagramp.server.group_version import GroupVersion
from flagramp.server.settings import ServerSettings
from flagramp.store import SqlFlagStore
from flagramp.store.tokens import TokenStore
from tests.server.conftest import SETUP, InProcess, Template

AT = "2026-01-01T00:00:00Z"


def counting(values: list[int]) -> tuple[Callable[[], int], list[int]]:
    """A version read answering `values` in turn, and the list of answers given."""
    given: list[int] = []

    def read() -> int:
        given.append(values[len(given)])
        return given[-1]

    return read, given


def test_calls_in_a_held_block_share_one_read_and_outside_each_reads() -> None:
    read, given = counting([1, 2, 3, 4, 5])
    version = GroupVersion(read)
    assert version() == 1
    with version.held():
        assert [version(), version(), version()] == [2, 2, 2]
    with version.held():
        assert version() == 3  # a new block reads again
    assert version() == 4
    assert given == [1, 2, 3, 4]


def test_a_nested_block_reads_for_itself_and_the_outer_keeps_its_number() -> None:
    read, _ = counting([1, 2, 3])
    version = GroupVersion(read)
    with version.held():
        assert version() == 1
        with version.held():
            assert version() == 2
        assert version() == 1


def test_another_thread_reads_while_one_holds() -> None:
    read, given = counting([1, 2, 3])
    version = GroupVersion(read)
    seen: list[int] = []
    with version.held():
        assert version() == 1
        other = threading.Thread(target=lambda: seen.extend([version(), version()]))
        other.start()
        other.join()
        assert version() == 1
    assert seen == [2, 3]
    assert given == [1, 2, 3]


def test_the_writer_reads_the_version_once_for_a_group(
    server_store: SqlFlagStore,
    server_template: Template,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    writer_reads: list[str] = []
    read = server_store.version

    def counted() -> int:
        writer_reads.append(threading.current_thread().name)
        return read()

    monkeypatch.setattr(server_store, "version", counted)
    app = create_app(ServerSettings(), store=server_store)
    client = InProcess(app)
    headers = {"authorization": f"Bearer {server_template.tokens['sdk']}"}
    for n in range(3):
        body = {
            "batch_key": f"group-version-{n}",
            "events": [{"type": "request", "at": AT, "actor": "u1", "status": 200}],
        }
        assert client.post("/api/v1/events", json=body, headers=headers).is_success
    # One group a request here (each waits for its answer): one read each,
    # for the token check and the routes together (it was two).
    assert writer_reads.count("flagramp events writer") == 3
    # A token revoked between groups is refused at the next group.
    tokens = TokenStore(server_store)
    sdk = next(r for r in tokens.list() if r.owner == "app-production")
    tokens.revoke(sdk.id, SETUP)
    body = {"batch_key": "group-version-late", "events": []}
    assert client.post("/api/v1/events", json=body, headers=headers).status_code == 401
