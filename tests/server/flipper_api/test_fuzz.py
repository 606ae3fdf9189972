"""Hypothesis against `/flipper/api` through the whole server: every route of
Flipper's table (`flipper_api.routing.ROUTES`, so a new route joins by being
there) with every method, names with escapes, control characters and lone
surrogates, bodies of any JSON shape or none: no answer is a 5xx, every answer
is JSON, errors are Flipper's `{code, message, more_info}` and features have
Flipper's shape."""

from __future__ import annotations

import json
import os
import urllib.parse
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flagramp.core.clock import VirtualClock
from flagramp.server.app import create_app
from flagramp.server.flipper_api.app import HANDLERS
from flagramp.server.flipper_api.routing import ROUTES, Route
from flagramp.server.settings import ServerSettings
from tests.server.conftest import InProcess, Template, copy_store

EXAMPLES = int(os.environ.get("FLAGRAMP_FUZZ_EXAMPLES", "6"))
RANDOM = os.environ.get("FLAGRAMP_FUZZ_RANDOM", "") not in ("", "0")
METHODS = ("GET", "POST", "PUT", "DELETE")
FEATURE_SHAPE = {"key", "state", "gates"}
ERROR_SHAPE = {"code", "message", "more_info"}


def template(route: Route) -> str:
    """The route's path with `{capture}` where its regex captures."""
    pattern = dict(ROUTES)[route].pattern
    return (
        pattern.removeprefix(r"\A")
        .removesuffix(r"/?\Z")
        .replace("(?P<capture>.*)", "{capture}")
    )


#: Every route with every method: those without a handler must refuse well too.
TRIED = [
    pytest.param(route, method, id=f"{method} {template(route)}")
    for route, _ in ROUTES
    for method in METHODS
]

names = st.one_of(
    st.sampled_from(["search", "a/b", "a,b", "", " x ", "User;1"]),
    st.text(max_size=40),
    st.text(st.characters(categories=["Cs", "Cc", "Zs", "Lo"]), max_size=8),
)
# Lone surrogates survive JSON's \u escapes, and a Ruby app can send them.
leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False),
    names,
)
values = st.recursive(
    leaves,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
PARAM_NAMES = ["name", "flipper_id", "percentage", "keys", "features", "version"]
bodies = st.one_of(
    st.none(),
    st.dictionaries(st.sampled_from(PARAM_NAMES), values, max_size=3),
    values,
    st.binary(max_size=40),
)
QUERY_NAMES = [
    "keys",
    "exclude_gates",
    "exclude_gate_names",
    "allow_unregistered_groups",
]
queries = st.dictionaries(st.sampled_from(QUERY_NAMES), names, max_size=2)
escapes = st.sampled_from(["quote", "raw", "bad-escape"])


def path_for(route: Route, name: str, escape: str) -> str:
    if escape == "quote":
        capture = urllib.parse.quote(name, safe="", errors="surrogatepass")
    elif escape == "raw":
        capture = urllib.parse.quote(name, safe="/,;:@", errors="surrogatepass")
    else:
        capture = "%zz" + urllib.parse.quote(name, safe="", errors="surrogatepass")
    return "/flipper/api" + template(route).replace("{capture}", capture)


@pytest.fixture(scope="module")
def flipper(
    server_template: Template, tmp_path_factory: pytest.TempPathFactory
) -> InProcess:
    store = copy_store(server_template.path, tmp_path_factory.mktemp("flipper-fuzz"))
    app = create_app(
        ServerSettings(auth_failures=1_000_000), store=store, clock=VirtualClock()
    )
    return InProcess(app)


def test_every_route_has_a_handler_for_some_method() -> None:
    assert {route for route, _ in HANDLERS} == set(Route)


@pytest.mark.parametrize(("route", "method"), TRIED)
def test_no_flipper_route_answers_5xx_or_out_of_shape(
    flipper: InProcess, server_template: Template, route: Route, method: str
) -> None:
    token = {"flipper-cloud-token": server_template.tokens["admin"]}

    @given(name=names, escape=escapes, body=bodies, query=queries)
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=not RANDOM,
        suppress_health_check=list(HealthCheck),
    )
    def fuzz(name: str, escape: str, body: Any, query: dict[str, str]) -> None:
        if isinstance(body, bytes):
            content = body
        else:
            content = json.dumps(body).encode() if body is not None else b""
        answer = flipper.request(
            method,
            path_for(route, name, escape),
            content=content,
            params={k: v.encode("utf-8", "surrogatepass") for k, v in query.items()},
            headers={**token, "content-type": "application/json"},
        )
        where = f"{method} {answer.request.url} {content[:200]!r}"
        assert answer.status_code < 500, f"{where}: {answer.text[:500]}"
        assert answer.headers["content-type"] == "application/json", where
        if answer.status_code in (204, 304):
            assert answer.content == b"", where
            return
        document = answer.json()
        if answer.status_code >= 400:
            assert set(document) == ERROR_SHAPE, where
        elif route not in (Route.FEATURES, Route.ACTORS) or method != "GET":
            assert set(document) >= FEATURE_SHAPE, where

    fuzz()


@pytest.mark.parametrize(
    ("method", "path", "body", "refusal"),
    [
        ("POST", "/features/%20x/boolean", b"{}", (422, "invalid_name")),
        ("DELETE", "/features/x%20/expression", b"{}", (422, "invalid_name")),
        ("POST", "/features/%00/boolean", b"{}", (422, "invalid_name")),
        # A newline once missed the mount and got the server's own 404 problem.
        ("POST", "/features/%0A/boolean", b"{}", (422, "invalid_name")),
        ("POST", "/features", b'{"name": "a\\ud800b"}', (400, "invalid_request")),
        (
            "POST",
            "/features/f/actors",
            b'{"flipper_id": "\\udc00"}',
            (400, "invalid_request"),
        ),
        (
            "POST",
            "/features/f/groups",
            b'{"name": "g\\ud800"}',
            (400, "invalid_request"),
        ),
        (
            "POST",
            "/import",
            b'{"version": 1, "features": {"\\ud800": {}}}',
            (422, 6),
        ),
    ],
)
def test_a_name_the_store_cannot_keep_is_refused_not_a_500(
    flipper: InProcess,
    server_template: Template,
    method: str,
    path: str,
    body: bytes,
    refusal: tuple[int, str],
) -> None:
    # Found by the fuzzer: these answered 500 (the store's InvalidIdentifier, or
    # a lone surrogate that the params' escaping could not encode).
    answer = flipper.request(
        method,
        "/flipper/api" + path + "?allow_unregistered_groups=true",
        content=body,
        headers={
            "flipper-cloud-token": server_template.tokens["admin"],
            "content-type": "application/json",
        },
    )
    assert (answer.status_code, answer.json()["code"]) == refusal, answer.text
    assert answer.json()["message"]
