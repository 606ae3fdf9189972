"""A few cases over a real socket (uvicorn), where a server could change what the
app sends: raw paths, empty 204/304 bodies, HEAD, gzip, DELETE with a body."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from flagramp.core.flags import Flag
from flagramp.server.flipper_api import flipper_api
from flagramp.store import FlagStore
from tests.server.flipper_api.adapter_client import (
    FlipperHttpClient,
    features_by_key,
    socket_sender,
)
from tests.server.flipper_api.conftest import SETUP, fresh_store
from tests.server.flipper_api.live import serving


@pytest.fixture(scope="module")
def live(
    migrated_sqlite: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[FlipperHttpClient, FlagStore]]:
    store = fresh_store(migrated_sqlite, tmp_path_factory.mktemp("live"))
    with serving(flipper_api(store)) as url:
        yield FlipperHttpClient(socket_sender(), base_url=url), store


def test_an_escaped_slash_reaches_the_feature_over_a_socket(
    live: tuple[FlipperHttpClient, FlagStore],
) -> None:
    client, store = live
    answer = client.enable("teams/search", "actors", "User;1")
    assert (answer.status_code, answer.json()["key"]) == (200, "teams/search")
    assert store.get_flag("teams/search") == Flag("teams/search", actors=("User;1",))
    removed = client.disable("teams/search", "actors", "User;1")  # DELETE + body
    assert removed.json()["gates"][2]["value"] == []


def test_empty_answers_are_empty_on_the_wire(
    live: tuple[FlipperHttpClient, FlagStore],
) -> None:
    client, store = live
    store.create_flag(Flag("gone"), SETUP)
    removed = client.remove("gone")
    assert (removed.status_code, removed.content) == (204, b"")
    first = client.get_all()
    again = client.get_all()
    assert (again.status_code, again.content) == (304, b"")
    assert "gone" not in features_by_key(first)


def test_head_and_gzip_over_a_socket(live: tuple[FlipperHttpClient, FlagStore]) -> None:
    client, store = live
    store.create_flag(Flag("searchable", boolean=True), SETUP)
    with httpx.Client() as plain:
        got = plain.get(
            f"{client.base_url}/features", headers={"accept-encoding": "gzip"}
        )
        head = plain.head(f"{client.base_url}/features")
    assert got.headers["content-encoding"] == "gzip"
    assert "searchable" in features_by_key(got)
    assert (head.status_code, head.content) == (200, b"")
    assert int(head.headers["content-length"]) > 0
