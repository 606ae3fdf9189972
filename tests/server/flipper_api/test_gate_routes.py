"""The actors, groups, percentage and expression gates, and how params are read:
every method, status and error code (see route_table.py for the case shape)."""

from __future__ import annotations

import pytest

from flagramp.core.flags import Flag
from flagramp.store import FlagStore
from tests.server.flipper_api.adapter_client import FlipperHttpClient
from tests.server.flipper_api.expected import error, feature
from tests.server.flipper_api.route_table import (
    ABSENT,
    INVALID_REQUEST,
    PERCENTAGES_ACCEPTED,
    PERCENTAGES_REFUSED,
    PLAN_IS_BASIC,
    SEARCH,
    A,
    B,
    Case,
    check,
    pct,
)

CASES: dict[str, Case] = {
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
}


@pytest.mark.parametrize("case", CASES.values(), ids=list(CASES))
def test_route(case: Case, client: FlipperHttpClient, store: FlagStore) -> None:
    check(case, client, store)
