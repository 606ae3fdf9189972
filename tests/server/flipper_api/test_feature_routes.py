"""Features, one feature, boolean, clear, the actor route, import, no route: every
method, status and error code (see route_table.py for the case shape)."""

from __future__ import annotations

import json

import pytest

from flagramp.core.flags import Flag
from flagramp.store import FlagStore
from tests.server.flipper_api.adapter_client import FlipperHttpClient
from tests.server.flipper_api.conftest import SETUP
from tests.server.flipper_api.expected import RECORDED_SEARCH, error, feature
from tests.server.flipper_api.route_table import (
    ABSENT,
    COMMA,
    METHOD_NOT_ALLOWED,
    NAME_TOO_LONG,
    ON,
    SEARCH,
    A,
    B,
    Case,
    check,
    off,
    pct,
)

CASES: dict[str, Case] = {
    # --- GET /features ------------------------------------------------------
    "list-empty": Case("GET", "/features", answer={"features": []}),
    "list-all-by-key": Case(
        "GET",
        "/features",
        given=(ON, B),
        answer={"features": [off("b"), feature("on", "on", boolean="true")]},
    ),
    "list-exclude-gate-names": Case(
        "GET",
        "/features?exclude_gate_names=true",
        given=(B,),
        answer={"features": [off("b", names=False)]},
    ),
    "list-exclude-gates": Case(
        "GET",
        "/features?exclude_gates=TRUE",
        given=(ON,),
        answer={"features": [{"key": "on", "state": "on"}]},
    ),
    "list-exclude-gates-needs-true": Case(
        "GET",
        "/features?exclude_gates=1",
        given=(B,),
        answer={"features": [off("b")]},
    ),
    "keys-in-the-order-asked-only-existing": Case(
        "GET",
        "/features?keys=b,missing,on&exclude_gate_names=true",
        given=(ON, B),
        answer={
            "features": [
                off("b", names=False),
                feature("on", "on", boolean="true", names=False),
            ]
        },
    ),
    "keys-repeated-are-repeated": Case(
        "GET",
        "/features?keys=b,b&exclude_gates=true",
        given=(B,),
        answer={"features": [{"key": "b", "state": "off"}] * 2},
    ),
    "keys-empty-is-none": Case(
        "GET", "/features?keys=", given=(B,), answer={"features": []}
    ),
    "keys-list-form-keeps-commas": Case(
        "GET",
        "/features?keys%5B%5D=a%2Cb&keys%5B%5D=b&exclude_gates=true",
        given=(COMMA, B, A),
        answer={
            "features": [{"key": "a,b", "state": "on"}, {"key": "b", "state": "off"}]
        },
    ),
    "keys-escaped-comma-is-one-name-if-it-exists": Case(
        "GET",
        "/features?keys=a%2Cb&exclude_gates=true",
        given=(COMMA, A, B),
        answer={"features": [{"key": "a,b", "state": "on"}]},
    ),
    "keys-escaped-comma-splits-otherwise": Case(
        "GET",
        "/features?keys=a%2Cb&exclude_gates=true",
        given=(A, B),
        answer={
            "features": [
                {"key": "a", "state": "conditional"},
                {"key": "b", "state": "off"},
            ]
        },
    ),
    "keys-pieces-are-decoded": Case(
        "GET",
        "/features?keys=a%2Fb,b&exclude_gates=true",
        given=(Flag("a/b"), B),
        answer={
            "features": [{"key": "a/b", "state": "off"}, {"key": "b", "state": "off"}]
        },
    ),
    "keys-bad-escape-is-ignored-on-reads": Case(
        "GET",
        "/features?keys=%zz&exclude_gates=true",
        given=(B,),
        answer={"features": [off("b")]},
    ),
    # --- POST /features -----------------------------------------------------
    "add-is-200-not-201": Case(
        "POST", "/features", {"name": "x"}, answer=off("x"), stored={"x": Flag("x")}
    ),
    "add-keeps-an-existing-feature": Case(
        "POST",
        "/features",
        {"name": "on"},
        given=(ON,),
        answer=feature("on", "on", boolean="true"),
        stored={"on": ON},
    ),
    "add-without-name": Case("POST", "/features", {}, 422, error(5)),
    "add-null-name": Case("POST", "/features", {"name": None}, 422, error(5)),
    "add-empty-name": Case("POST", "/features", {"name": ""}, 422, error(5)),
    "add-blank-name": Case(
        "POST", "/features", {"name": " \u3000\u200b"}, 422, error(5)
    ),
    "add-cleans-the-name": Case(
        "POST",
        "/features",
        {"name": "\u200bse\u00adarch\u00a0"},
        answer=off("search"),
        stored={"search": Flag("search")},
    ),
    "add-number-name-is-its-text": Case(
        "POST", "/features", {"name": 5}, answer=off("5"), stored={"5": Flag("5")}
    ),
    "add-name-from-the-query": Case(
        "POST", "/features?name=q", answer=off("q"), stored={"q": Flag("q")}
    ),
    "add-name-too-long": Case(
        "POST", "/features", {"name": "x" * 256}, 422, NAME_TOO_LONG
    ),
    "put-features": Case("PUT", "/features", {}, 405, METHOD_NOT_ALLOWED),
    # --- /features/:name ----------------------------------------------------
    "get-recorded-search": Case(
        "GET", "/features/search", given=(SEARCH,), answer=json.loads(RECORDED_SEARCH)
    ),
    "get-missing": Case("GET", "/features/missing", status=404, answer=error(1)),
    "get-exclude-gates": Case(
        "GET",
        "/features/search?exclude_gates=true",
        given=(SEARCH,),
        answer={"key": "search", "state": "conditional"},
    ),
    "get-ignores-exclude-gate-names": Case(
        "GET",
        "/features/b?exclude_gate_names=true",
        given=(B,),
        answer=off("b"),
    ),
    "get-trailing-slash-is-part-of-the-name": Case(
        "GET", "/features/b/", given=(B,), status=404, answer=error(1)
    ),
    "get-empty-name": Case("GET", "/features/", status=404, answer=error(1)),
    "remove-is-204": Case(
        "DELETE",
        "/features/search",
        given=(SEARCH,),
        status=204,
        stored={"search": ABSENT},
    ),
    "remove-missing-is-204": Case("DELETE", "/features/missing", status=204),
    "post-feature": Case(
        "POST", "/features/b", {}, 405, METHOD_NOT_ALLOWED, given=(B,)
    ),
    # --- boolean ------------------------------------------------------------
    "enable-adds-and-enables": Case(
        "POST",
        "/features/new/boolean",
        {},
        answer=feature("new", "on", boolean="true"),
        stored={"new": Flag("new", boolean=True)},
    ),
    "enable-clears-every-other-gate": Case(
        "POST",
        "/features/search/boolean",
        {},
        given=(SEARCH,),
        answer=feature("search", "on", boolean="true"),
        stored={"search": Flag("search", boolean=True)},
    ),
    "disable-boolean-clears-all": Case(
        "DELETE",
        "/features/search/boolean",
        {},
        given=(SEARCH,),
        answer=off("search"),
        stored={"search": Flag("search")},
    ),
    "disable-boolean-adds-a-missing-feature": Case(
        "DELETE",
        "/features/new/boolean",
        {},
        answer=off("new"),
        stored={"new": Flag("new")},
    ),
    "get-boolean": Case("GET", "/features/on/boolean", None, 405, METHOD_NOT_ALLOWED),
    "gate-write-to-empty-name": Case("POST", "/features//boolean", {}, 422, error(5)),
    # --- clear --------------------------------------------------------------
    "clear-is-204-and-keeps-the-feature": Case(
        "DELETE",
        "/features/search/clear",
        given=(SEARCH,),
        status=204,
        stored={"search": Flag("search")},
    ),
    "clear-missing-adds-nothing": Case(
        "DELETE", "/features/missing/clear", status=204, stored={"missing": ABSENT}
    ),
    "post-clear": Case("POST", "/features/b/clear", {}, 405, METHOD_NOT_ALLOWED),
    # --- /actors/:flipper_id --------------------------------------------------
    "actor-every-feature": Case(
        "GET",
        "/actors/User;9",
        given=(A, B, ON),
        answer={
            "flipper_id": "User;9",
            "features": {
                "a": {"enabled": True},
                "b": {"enabled": False},
                "on": {"enabled": True},
            },
        },
    ),
    "actor-id-is-not-decoded": Case(
        "GET",
        "/actors/User%3B9",
        given=(A,),
        answer={"flipper_id": "User%3B9", "features": {"a": {"enabled": False}}},
    ),
    "actor-keys-list-missing-ones": Case(
        "GET",
        "/actors/User;9?keys=missing,a",
        given=(A, B),
        answer={
            "flipper_id": "User;9",
            "features": {"missing": {"enabled": False}, "a": {"enabled": True}},
        },
    ),
    "actor-keys-empty": Case(
        "GET",
        "/actors/User;9?keys=",
        given=(A,),
        answer={"flipper_id": "User;9", "features": {}},
    ),
    "actor-trailing-slash-is-part-of-the-id": Case(
        "GET",
        "/actors/User;9/",
        given=(A,),
        answer={"flipper_id": "User;9/", "features": {"a": {"enabled": False}}},
    ),
    "post-actor": Case("POST", "/actors/User;9", {}, 405, METHOD_NOT_ALLOWED),
    # --- /import ------------------------------------------------------------
    "import-not-json": Case("POST", "/import", b"not json", 422, error(6)),
    "import-without-features": Case("POST", "/import", {"version": 1}, 422, error(6)),
    "import-features-not-an-object": Case(
        "POST", "/import", {"features": []}, 422, error(6)
    ),
    "import-bad-percentage-writes-nothing": Case(
        "POST",
        "/import",
        {"features": {"b": {"percentage_of_actors": "150"}, "new": {}}},
        422,
        error(6),
        given=(B,),
        stored={"b": B, "new": ABSENT},
    ),
    "import-bad-expression": Case(
        "POST",
        "/import",
        {"features": {"b": {"expression": {"Nope": []}}}},
        422,
        error(6),
    ),
    "import-is-a-full-sync": Case(
        "POST",
        "/import",
        {
            "version": 1,
            "features": {"b": {"boolean": "true"}, "new": {"actors": ["x"]}},
        },
        204,
        given=(A, B),
        stored={
            "a": ABSENT,
            "b": Flag("b", boolean=True),
            "new": Flag("new", actors=("x",)),
        },
    ),
    "import-typecasts-values": Case(
        "POST",
        "/import",
        {"features": {"b": {"boolean": True, "percentage_of_actors": 25}}},
        204,
        stored={"b": Flag("b", boolean=True, percentage_of_actors=pct("25"))},
    ),
    "get-import": Case("GET", "/import", None, 405, METHOD_NOT_ALLOWED),
    # --- no route -----------------------------------------------------------
    "root": Case("GET", "/", status=404, answer={}),
    "unknown": Case("GET", "/nope", status=404, answer={}),
    "features-prefix-only": Case("GET", "/features2", status=404, answer={}),
    "post-unknown": Case("POST", "/nope/x", {}, 404, {}),
}


@pytest.mark.parametrize("case", CASES.values(), ids=list(CASES))
def test_route(case: Case, client: FlipperHttpClient, store: FlagStore) -> None:
    check(case, client, store)


def test_the_recorded_feature_is_answered_byte_for_byte(
    client: FlipperHttpClient, store: FlagStore
) -> None:
    store.create_flag(SEARCH, SETUP)
    response = client.get("search")
    assert response.status_code == 200
    assert response.text == RECORDED_SEARCH
