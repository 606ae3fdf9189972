"""HTTP around the routes: ETag and 304, HEAD, gzip, mounting, tokens, the audit."""

from __future__ import annotations

import gzip
import json

import anyio
import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Mount

from flagramp.core.clock import VirtualClock
from flagramp.core.flags import Flag, Segment
from flagramp.core.types import Json
from flagramp.server.flipper_api import Caller, flipper_api, token_table
from flagramp.server.flipper_api.auth import token_from_headers
from flagramp.store import Author, FlagStore
from tests.server.flipper_api.adapter_client import (
    NET_HTTP_ACCEPT_ENCODING,
    FlipperHttpClient,
    asgi_sender,
    raw_asgi,
)
from tests.server.flipper_api.conftest import SETUP

# --- ETag and 304 ---------------------------------------------------------------


def test_get_all_is_304_until_something_changes(
    client: FlipperHttpClient, store: FlagStore
) -> None:
    store.create_flag(Flag("search"), SETUP)
    first = client.get_all()
    assert first.status_code == 200
    etag = first.headers["etag"]

    again = client.get_all()  # the adapter sends If-None-Match now
    assert (again.status_code, again.content, again.headers["etag"]) == (304, b"", etag)

    client.enable("search", "boolean")
    changed = client.get_all()
    assert changed.status_code == 200
    assert changed.headers["etag"] != etag
    assert changed.json()["features"][0]["state"] == "on"


def test_a_change_through_the_store_ends_the_304(
    client: FlipperHttpClient, store: FlagStore
) -> None:
    store.create_flag(Flag("search"), SETUP)
    client.get_all()
    store.put_segment(Segment.from_rules("new", ["plan == basic"]), SETUP)
    assert client.get_all().status_code == 200


@pytest.mark.parametrize(
    ("if_none_match", "status"),
    [
        ("*", 304),
        ("{etag}", 304),
        ('W/"0-x", {etag}', 304),
        ("{strong}", 304),  # weak comparison, as If-None-Match asks
        ('W/"999-0000"', 200),
        ("", 200),
    ],
)
def test_if_none_match_forms(
    if_none_match: str, status: int, client: FlipperHttpClient
) -> None:
    etag = client.request("GET", "/features").headers["etag"]
    header = if_none_match.format(etag=etag, strong=etag.removeprefix("W/"))
    answer = client.request("GET", "/features", headers={"if-none-match": header})
    assert answer.status_code == status


def test_the_etag_depends_on_the_question_not_on_the_cache_bust(
    client: FlipperHttpClient,
) -> None:
    def etag(query: str) -> str:
        return client.request("GET", f"/features{query}").headers["etag"]

    assert etag("?exclude_gate_names=true") != etag("")
    assert etag("?keys=a") != etag("?keys=b")
    assert etag("?keys=a%2Cb") != etag("?keys=a,b")
    assert etag("?exclude_gate_names=true&_cb=1") == etag("?exclude_gate_names=true")


# --- HEAD and gzip --------------------------------------------------------------


def test_head_is_get_without_the_body(
    client: FlipperHttpClient, store: FlagStore
) -> None:
    store.create_flag(Flag("search", boolean=True), SETUP)
    plain = {"accept-encoding": "identity"}
    got = client.request("GET", "/features/search", headers=plain)
    head = client.request("HEAD", "/features/search", headers=plain)
    assert (head.status_code, head.content) == (200, b"")
    assert head.headers["content-length"] == str(len(got.content))
    assert client.request("HEAD", "/features/missing").status_code == 404
    assert client.request("HEAD", "/features/search/boolean").status_code == 405


def test_gzip_when_asked_and_identity_otherwise(store: FlagStore) -> None:
    store.create_flag(Flag("search"), SETUP)
    app = flipper_api(store)
    zipped = raw_asgi(app, "GET", "/features", {"accept-encoding": "gzip"})
    plain = raw_asgi(app, "GET", "/features", {"accept-encoding": "identity"})
    assert zipped.headers["content-encoding"] == "gzip"
    assert zipped.headers["vary"] == "Accept-Encoding"
    assert "content-encoding" not in plain.headers
    assert json.loads(gzip.decompress(zipped.body)) == json.loads(plain.body)
    # Net::HTTP's own Accept-Encoding asks for gzip too.
    net_http = raw_asgi(
        app, "GET", "/features", {"accept-encoding": NET_HTTP_ACCEPT_ENCODING}
    )
    assert net_http.headers["content-encoding"] == "gzip"
    # Empty answers stay empty, gzip or not.
    not_modified = raw_asgi(
        app,
        "GET",
        "/features",
        {"accept-encoding": "gzip", "if-none-match": plain.headers["etag"]},
    )
    assert (not_modified.status, not_modified.body) == (304, b"")


# --- mounted in a server ------------------------------------------------------


def test_mounted_in_starlette_the_raw_path_still_routes(store: FlagStore) -> None:
    server = Starlette(routes=[Mount("/flipper/api", app=flipper_api(store))])
    client = FlipperHttpClient(asgi_sender(server, root_path=""))
    assert client.enable("a/b", "boolean").json()["key"] == "a/b"
    assert store.get_flag("a/b") == Flag("a/b", boolean=True)
    assert client.request("GET", "/nope").status_code == 404


# --- tokens and the audit log ----------------------------------------------------

ALICE = Caller(Author("alice@va.gov"))
READER = Caller(Author("dashboard"), may_write=False)


@pytest.fixture
def guarded(store: FlagStore) -> FlipperHttpClient:
    authorize = token_table({"rw-token": ALICE, "ro-token": READER})
    app = flipper_api(store, authorize=authorize, clock=VirtualClock())
    return FlipperHttpClient(asgi_sender(app))


@pytest.mark.parametrize(
    "headers",
    [
        {"flipper-cloud-token": "rw-token"},
        {"Flipper-Cloud-Token": "rw-token"},
        {"authorization": "Bearer rw-token"},
        {"authorization": "bearer  rw-token "},
    ],
)
def test_either_token_header_is_read(headers: dict[str, str]) -> None:
    lowered = httpx.Headers(headers)
    assert token_from_headers(lowered) == "rw-token"


def test_without_a_known_token_every_request_is_401(
    guarded: FlipperHttpClient,
) -> None:
    for headers in ({}, {"flipper-cloud-token": "nope"}, {"authorization": "Basic x"}):
        answer = guarded.request("GET", "/features", headers=headers)
        assert answer.status_code == 401
        assert answer.json()["code"] == "unauthorized"
    assert guarded.request("GET", "/nope").status_code == 401


def test_a_read_only_token_reads_and_gets_403_on_writes(
    guarded: FlipperHttpClient, store: FlagStore
) -> None:
    guarded.extra_headers = {"flipper-cloud-token": "ro-token"}
    store.create_flag(Flag("search"), SETUP)
    assert guarded.get("search").status_code == 200
    assert guarded.get_all().status_code == 200
    for answer in (
        guarded.add("x"),
        guarded.enable("search", "boolean"),
        guarded.disable("search", "actors", "User;1"),
        guarded.remove("search"),
        guarded.import_document({"features": {}}),
    ):
        assert answer.status_code == 403
        assert answer.json() == {
            "code": "read_only",
            "message": "This token may read flags but not change them.",
            "more_info": "flagramp docs/flipper.md#error-codes",
        }
    assert store.get_flag("search") == Flag("search")
    assert store.get_flag("x") is None


def test_every_change_is_audited_as_the_tokens_owner(
    guarded: FlipperHttpClient, store: FlagStore
) -> None:
    guarded.extra_headers = {"authorization": "Bearer rw-token"}
    guarded.enable("search", "percentage_of_actors", 25)
    guarded.enable("search", "actors", "User;1")
    guarded.disable("search", "percentage_of_actors")
    history = store.history("search")
    assert [e.actor for e in history] == ["alice@va.gov"] * 3
    assert [e.action for e in history] == [
        "create",
        "enable_actor",
        "set_percentage_of_actors",  # the adapter disables by POSTing "0"
    ]
    assert history[0].reason == (
        "Flipper API: POST /features/search/percentage_of_actors "
        "(Flipper HTTP Adapter v1.4.2)"
    )
    assert json.loads(history[-1].after or "")["gates"]["percentage_of_actors"] == "0"
    assert store.verify_audit() == []


def test_a_write_that_changes_nothing_writes_no_audit_row(
    client: FlipperHttpClient, store: FlagStore
) -> None:
    client.enable("search", "boolean")
    version = store.version()
    assert client.enable("search", "boolean").status_code == 200
    assert client.add("search").status_code == 200
    assert store.version() == version
    assert len(store.history("search")) == 1


def test_kept_answers_are_per_question_and_per_version(
    client: FlipperHttpClient, store: FlagStore
) -> None:
    for key in ("a,b", "a", "b"):
        store.create_flag(Flag(key), SETUP)

    def keys(query: str) -> list[str]:
        answer = client.request("GET", f"/features?{query}")
        return [f["key"] for f in answer.json()["features"]]

    assert keys("keys=a%2Cb") == ["a,b"]
    assert keys("keys=a,b") == ["a", "b"]
    assert keys("keys=a%2Cb") == ["a,b"]
    store.delete_flag("a,b", SETUP)
    assert keys("keys=a%2Cb") == ["a", "b"]


def test_run_on_its_own_it_answers_the_lifespan_protocol(store: FlagStore) -> None:
    app = flipper_api(store)
    incoming: list[dict[str, object]] = [
        {"type": "lifespan.startup"},
        {"type": "lifespan.shutdown"},
    ]
    sent: list[dict[str, object]] = []

    async def receive() -> dict[str, object]:
        return incoming.pop(0)

    async def send(message: dict[str, object]) -> None:
        sent.append(message)

    anyio.run(app, {"type": "lifespan"}, receive, send)  # type: ignore[arg-type]
    assert [m["type"] for m in sent] == [
        "lifespan.startup.complete",
        "lifespan.shutdown.complete",
    ]


def test_a_body_over_the_limit_is_refused_unread(store: FlagStore) -> None:
    client = FlipperHttpClient(asgi_sender(flipper_api(store, max_body_bytes=1024)))
    big: Json = {"flipper_id": "x" * 2048}
    refused = client.request("POST", "/features/search/actors", big)
    assert (refused.status_code, refused.json()["code"]) == (413, "body_too_large")
    document: Json = {"features": {"search": {"actors": ["x" * 2048]}}}
    assert client.import_document(document).json()["code"] == 6
    assert store.get_flag("search") is None
    assert (
        client.request(
            "POST", "/features/search/actors", {"flipper_id": "x"}
        ).status_code
        == 200
    )
