"""Every route × method × status × error code, table-driven, in process.

Each case is one request as Flipper's HTTP adapter would send it (its headers,
main's escaping), the whole JSON answer expected, and what the store must hold
afterwards. Answers come from the reference's recordings and rules; where Flipper
would raise (and its host app answer 500) flagramp's own codes are expected.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import pytest

from flagramp.core.flags import Flag, Percentage
from flagramp.core.types import Json
from flagramp.store import FlagStore
from tests.server.flipper_api.adapter_client import FlipperHttpClient
from tests.server.flipper_api.conftest import SETUP
from tests.server.flipper_api.expected import (
    RECORDED_SEARCH,
    error,
    feature,
)

PLAN_IS_BASIC: dict[str, Json] = {"Equal": [{"Property": ["plan"]}, "basic"]}
SEARCH = Flag(
    "search",
    expression=PLAN_IS_BASIC,
    actors=("User;1",),
    percentage_of_actors=Percentage.from_flipper("12.5"),
    percentage_of_time=Percentage.from_flipper("10"),
    groups=("admins",),
)
ON = Flag("on", boolean=True)
A = Flag("a", actors=("User;9",))
B = Flag("b")
COMMA = Flag("a,b", boolean=True)
ABSENT = None


def pct(text: str) -> Percentage:
    return Percentage.from_flipper(text)


@dataclass(frozen=True)
class Case:
    method: str
    path: str
    body: Json | bytes | None = None
    status: int = 200
    answer: Json = None
    given: tuple[Flag, ...] = ()
    stored: dict[str, Flag | None] = field(default_factory=dict)
    content_type: str | None = "application/json"


def off(key: str, **gates: object) -> dict[str, Json]:
    return feature(key, **gates)  # type: ignore[arg-type]


#: Percentages as sent (a string from Flipper's adapter, a number from others),
#: the text Flipper stores (Ruby's `to_s` of `Typecast.to_number`), the state.
PERCENTAGES_ACCEPTED: list[tuple[str, Json, str, str]] = [
    ("string-25", "25", "25", "conditional"),
    ("string-12.5", "12.5", "12.5", "conditional"),
    ("string-25.0-keeps-its-text", "25.0", "25.0", "conditional"),
    ("number-12.5", 12.5, "12.5", "conditional"),
    ("number-25", 25, "25", "conditional"),
    ("number-1e2-is-100.0", 1e2, "100.0", "conditional"),
    ("string-1e2-is-1", "1e2", "1", "conditional"),
    ("string-25abc-is-25", "25abc", "25", "conditional"),
    ("string-0x10-is-0", "0x10", "0", "off"),
    ("leading-space", " 7", "7", "conditional"),
    ("three-decimals", "99.999", "99.999", "conditional"),
    ("four-decimals-as-ruby", "12.3456", "12.3456", "conditional"),
    ("zero-disables", "0", "0", "off"),
    ("hundred", "100", "100", "conditional"),
]
PERCENTAGES_REFUSED: list[tuple[str, Json]] = [
    ("abc", {"percentage": "abc"}),
    ("101", {"percentage": "101"}),
    ("minus-1", {"percentage": "-1"}),
    ("100.5", {"percentage": 100.5}),
    ("empty", {"percentage": ""}),
    ("missing", {}),
    ("null", {"percentage": None}),
]

METHOD_NOT_ALLOWED: Json = {"code": "method_not_allowed"}  # compared on the code alone
INVALID_REQUEST: Json = {"code": "invalid_request"}
NAME_TOO_LONG: Json = {"code": "name_too_long"}

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
    # --- actors -------------------------------------------------------------
    "enable-actor": Case(
        "POST",
        "/features/b/actors",
        {"flipper_id": "User;1"},
        given=(B,),
        answer=feature("b", "conditional", actors=("User;1",)),
        stored={"b": Flag("b", actors=("User;1",))},
    ),
    "enable-actor-twice-is-one": Case(
        "POST",
        "/features/a/actors",
        {"flipper_id": "User;9"},
        given=(A,),
        answer=feature("a", "conditional", actors=("User;9",)),
    ),
    "enable-empty-actor-is-accepted": Case(
        "POST",
        "/features/b/actors",
        {"flipper_id": ""},
        given=(B,),
        answer=feature("b", "conditional", actors=("",)),
    ),
    "enable-actor-without-flipper-id": Case(
        "POST", "/features/b/actors", {}, 422, error(4), given=(B,), stored={"b": B}
    ),
    "enable-actor-json-with-charset-is-not-read": Case(
        "POST",
        "/features/b/actors",
        {"flipper_id": "User;1"},
        422,
        error(4),
        content_type="application/json; charset=utf-8",
    ),
    "enable-actor-from-a-form": Case(
        "POST",
        "/features/b/actors",
        b"flipper_id=User%3B1",
        given=(B,),
        answer=feature("b", "conditional", actors=("User;1",)),
        content_type="application/x-www-form-urlencoded",
    ),
    "enable-actor-from-the-query": Case(
        "POST",
        "/features/b/actors?flipper_id=User%3B2",
        given=(B,),
        answer=feature("b", "conditional", actors=("User;2",)),
    ),
    "semicolon-separates-query-params-as-in-rack": Case(
        "POST",
        "/features/b/actors?flipper_id=User;2",
        given=(B,),
        answer=feature("b", "conditional", actors=("User",)),
    ),
    "json-body-wins-over-the-query": Case(
        "POST",
        "/features/b/actors?flipper_id=query",
        {"flipper_id": "body"},
        given=(B,),
        answer=feature("b", "conditional", actors=("body",)),
    ),
    "disable-actor-removes-only-that-one": Case(
        "DELETE",
        "/features/x/actors",
        {"flipper_id": "User;1"},
        given=(Flag("x", actors=("User;1", "User;2")),),
        answer=feature("x", "conditional", actors=("User;2",)),
        stored={"x": Flag("x", actors=("User;2",))},
    ),
    "disable-actor-without-flipper-id": Case(
        "DELETE", "/features/a/actors", {}, 422, error(4), given=(A,)
    ),
    "bad-json-body": Case(
        "POST", "/features/b/actors", b"{not json", 400, INVALID_REQUEST
    ),
    "json-body-not-an-object": Case(
        "POST", "/features/b/actors", b"[1]", 400, INVALID_REQUEST
    ),
    "bad-escape-in-a-write": Case(
        "POST",
        "/features/b/actors?flipper_id=%zz",
        None,
        400,
        INVALID_REQUEST,
    ),
    "bad-escape-in-the-name": Case(
        "POST", "/features/100%/boolean", {}, 400, INVALID_REQUEST
    ),
    # --- groups -------------------------------------------------------------
    "enable-registered-group": Case(
        "POST",
        "/features/b/groups",
        {"name": "admins"},
        given=(B,),
        answer=feature("b", "conditional", groups=("admins",)),
        stored={"b": Flag("b", groups=("admins",))},
    ),
    "enable-unregistered-group": Case(
        "POST", "/features/b/groups", {"name": "ghosts"}, 404, error(2), given=(B,)
    ),
    "enable-unregistered-group-allowed": Case(
        "POST",
        "/features/b/groups?allow_unregistered_groups=true",
        {"name": "ghosts"},
        given=(B,),
        answer=feature("b", "conditional", groups=("ghosts",)),
    ),
    "allow-unregistered-is-exactly-true": Case(
        "POST",
        "/features/b/groups?allow_unregistered_groups=TRUE",
        {"name": "ghosts"},
        404,
        error(2),
    ),
    "enable-group-without-name": Case(
        "POST", "/features/b/groups?allow_unregistered_groups=true", {}, 422, error(5)
    ),
    "enable-group-empty-name": Case(
        "POST",
        "/features/b/groups?allow_unregistered_groups=true",
        {"name": ""},
        422,
        error(5),
    ),
    "disable-group": Case(
        "DELETE",
        "/features/x/groups?allow_unregistered_groups=true",
        {"name": "admins"},
        given=(Flag("x", groups=("admins", "oracle")),),
        answer=feature("x", "conditional", groups=("oracle",)),
    ),
    "disable-unregistered-group": Case(
        "DELETE", "/features/b/groups", {"name": "ghosts"}, 404, error(2)
    ),
    # --- percentages (every input form) ---------------------------------------
    **{
        f"poa-{label}": Case(
            "POST",
            "/features/p/percentage_of_actors",
            {"percentage": sent},
            answer=feature("p", state, percentage_of_actors=stored),
            stored={"p": Flag("p", percentage_of_actors=pct(stored))},
        )
        for label, sent, stored, state in PERCENTAGES_ACCEPTED
    },
    **{
        f"poa-refused-{label}": Case(
            "POST",
            "/features/p/percentage_of_actors",
            body,
            422,
            error(3),
            stored={"p": ABSENT},
        )
        for label, body in PERCENTAGES_REFUSED
    },
    "pot-100-is-on": Case(
        "POST",
        "/features/t/percentage_of_time",
        {"percentage": "100"},
        answer=feature("t", "on", percentage_of_time="100"),
    ),
    "pot-12.5": Case(
        "POST",
        "/features/t/percentage_of_time",
        {"percentage": 12.5},
        answer=feature("t", "conditional", percentage_of_time="12.5"),
    ),
    "pot-refused": Case(
        "POST", "/features/t/percentage_of_time", {"percentage": "abc"}, 422, error(3)
    ),
    "delete-poa-writes-zero": Case(
        "DELETE",
        "/features/search/percentage_of_actors",
        {},
        given=(SEARCH,),
        stored={"search": SEARCH.with_changes(percentage_of_actors=pct("0"))},
    ),
    "delete-pot-writes-zero": Case(
        "DELETE",
        "/features/t/percentage_of_time",
        given=(Flag("t", percentage_of_time=pct("30")),),
        answer=feature("t", percentage_of_time="0"),
    ),
    # --- expression ---------------------------------------------------------
    "enable-expression": Case(
        "POST",
        "/features/b/expression",
        PLAN_IS_BASIC,
        given=(B,),
        answer=feature("b", "conditional", expression=PLAN_IS_BASIC),
        stored={"b": Flag("b", expression=PLAN_IS_BASIC)},
    ),
    "expression-scalar-args-become-arrays": Case(
        "POST",
        "/features/b/expression",
        {"Equal": [{"Property": "plan"}, "basic"]},
        answer=feature("b", "conditional", expression=PLAN_IS_BASIC),
    ),
    "expression-unknown-function": Case(
        "POST", "/features/b/expression", {"Nope": []}, 422, error(7)
    ),
    "expression-empty-all": Case(
        "POST",
        "/features/b/expression",
        {"All": []},
        422,
        error(7),
        stored={"b": ABSENT},
    ),
    "expression-empty-body": Case("POST", "/features/b/expression", {}, 422, error(7)),
    "expression-not-sent-as-json": Case(
        "POST",
        "/features/b/expression",
        PLAN_IS_BASIC,
        422,
        error(7),
        content_type="text/plain",
    ),
    "disable-expression-ignores-the-body": Case(
        "DELETE",
        "/features/search/expression",
        {"All": []},
        given=(SEARCH,),
        stored={"search": SEARCH.with_changes(expression=None)},
    ),
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
    for flag in case.given:
        store.create_flag(flag, SETUP)
    headers = {} if case.content_type is None else {"content-type": case.content_type}
    response = client.request(case.method, case.path, case.body, headers=headers)

    assert response.status_code == case.status, response.text
    assert response.headers["content-type"] == "application/json"
    if case.status == 204:
        assert response.content == b""
    elif isinstance(case.answer, dict) and set(case.answer) == {"code"}:
        document = response.json()
        assert document["code"] == case.answer["code"]
        assert set(document) == {"code", "message", "more_info"}
    elif case.answer is not None:
        assert response.json() == case.answer
    for key, expected in case.stored.items():
        assert store.get_flag(key) == expected


def test_the_recorded_feature_is_answered_byte_for_byte(
    client: FlipperHttpClient, store: FlagStore
) -> None:
    store.create_flag(SEARCH, SETUP)
    response = client.get("search")
    assert response.status_code == 200
    assert response.text == RECORDED_SEARCH
