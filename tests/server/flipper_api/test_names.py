"""Feature names with `/`, `+`, `%`, spaces, commas and non-ASCII letters, sent as
Flipper main's adapter escapes them and as 0.25's sends them raw."""

from __future__ import annotations

import pytest

from flagramp.core.flags import Flag
from flagramp.store import FlagStore
from tests.server.flipper_api.adapter_client import (
    V025,
    FlipperHttpClient,
    features_by_key,
    path_escape,
)
from tests.server.flipper_api.conftest import SETUP

NAMES = [
    "a/b",
    "a/b/boolean",
    "a+b",
    "a b",
    "100%",
    "%2F",
    "José",
    "ключ",
    "名前",
    "a,b",
    "a?b#c",
    "User;1",
    "features",
    "😀",
]


@pytest.mark.parametrize("name", NAMES)
def test_every_adapter_call_reaches_the_feature_by_its_exact_name(
    name: str, client: FlipperHttpClient, store: FlagStore
) -> None:
    assert client.add(name).json()["key"] == name
    enabled = client.enable(name, "boolean")
    assert (enabled.status_code, enabled.json()["key"]) == (200, name)
    assert client.enable(name, "actors", "User;1").json()["key"] == name
    assert store.get_flag(name) == Flag(name, boolean=True, actors=("User;1",))

    got = client.get(name)
    assert (got.status_code, got.json()["key"]) == (200, name)
    assert name in features_by_key(client.get_multi([name, "other"]))
    assert name in features_by_key(client.get_all())

    assert client.clear(name).status_code == 204
    assert store.get_flag(name) == Flag(name)
    assert client.remove(name).status_code == 204
    assert store.get_flag(name) is None
    assert client.get(name).status_code == 404


def test_path_escaping_is_flipper_mains() -> None:
    assert path_escape("a/b c+d%é~_.-") == "a%2Fb%20c%2Bd%25%C3%A9~_.-"


@pytest.mark.parametrize(
    ("raw", "read_as"),
    [
        ("a/b", "a/b"),  # the greedy `.*` keeps the slash
        ("a+b", "a b"),  # Rack's unescape: `+` is a space (why main escapes keys)
        ("a%20b", "a b"),
        ("User;1", "User;1"),
    ],
)
def test_a_025_client_sends_raw_keys_and_rack_decodes_them(
    raw: str, read_as: str, store: FlagStore, client: FlipperHttpClient
) -> None:
    old = FlipperHttpClient(client.send, V025)
    assert old.enable(raw, "boolean").json()["key"] == read_as
    assert store.get_flag(read_as) == Flag(read_as, boolean=True)


def test_a_key_with_a_comma_goes_out_as_a_list_and_comes_back(
    client: FlipperHttpClient, store: FlagStore
) -> None:
    for key in ("a,b", "a", "b"):
        store.create_flag(Flag(key), SETUP)
    answer = client.get_multi(["a,b", "b"])
    assert [f["key"] for f in answer.json()["features"]] == ["a,b", "b"]
