"""Every route × every kind of caller, against a real server, from the route
table itself: no token, a revoked token, each permission, an SDK token of the
route's environment and one of another environment."""

from __future__ import annotations

import re

import httpx
import pytest

from flagramp.server.app import create_app
from flagramp.server.identity import Access, EnvironmentIn
from flagramp.server.matrix import LADDER, route_table
from flagramp.server.settings import ServerSettings
from flagramp.store.tokens import Permission
from tests.server.conftest import Api
from tests.server.live_server import serving

PARAMS = {"env": "production", "key": "flag-x", "name": "seg-x", "actor": "u1"}
PARAMS |= {"group": "g1", "token_id": "000000000000", "run": "R1"}
CALLERS = ("none", "revoked", *(p.value for p in LADDER), "sdk", "sdk_staging")


def _url(path: str) -> str:
    return re.sub(r"{(\w+)(?::path)?}", lambda m: PARAMS[m.group(1)], path)


def _expected(access: Access | None, caller: str) -> set[int] | None:
    """The statuses a refusal may have, or None when the caller is let through."""
    if access is None:
        return None
    if caller in ("none", "revoked"):
        return {401}
    if caller == "sdk":
        return None if access.sdk is not None else {403}
    if caller == "sdk_staging":
        names_one = access.environment is not EnvironmentIn.NONE
        return {403} if access.sdk is None or names_one else None
    return (
        None
        if Permission(caller).includes(access.permission or Permission.VIEWER)
        else {403}
    )


def test_every_route_refuses_and_admits_exactly_whom_its_rule_says(api: Api) -> None:
    settings = ServerSettings(auth_failures=100_000, keepalive_seconds=60)
    app = create_app(settings, store=api.store, clock=api.clock)
    rules = route_table()
    assert len(rules) > 30
    tried = 0
    with serving(app) as base, httpx.Client(base_url=base, timeout=10) as client:
        for rule in rules:
            for caller in CALLERS:
                headers = {} if caller == "none" else api.headers(caller)
                params = {"environment": "production"}
                body = {"environment": "production", "events": []}
                with client.stream(
                    rule.method,
                    _url(rule.path),
                    params=params,
                    headers=headers,
                    json=body if rule.method in ("POST", "PUT") else None,
                ) as answer:
                    status = answer.status_code
                refused = _expected(rule.access, caller)
                where = f"{rule.method} {rule.path} as {caller}: {status}"
                if refused is None:
                    assert status not in (401, 403), where
                else:
                    assert status in refused, where
                tried += 1
    assert tried == len(rules) * len(CALLERS)


@pytest.mark.parametrize("caller", ["none", "revoked"])
def test_refusals_say_why_as_problems(api: Api, caller: str) -> None:
    headers = {} if caller == "none" else api.headers(caller)
    answer = api.client.get("/api/v1/flags", headers=headers)
    assert answer.status_code == 401
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.headers["www-authenticate"].startswith("Bearer")
    assert answer.json()["code"] == "unauthorized"


def test_a_token_is_checked_before_the_body_is_read(api: Api) -> None:
    answer = api.client.post(
        "/api/v1/flags",
        content=b"{not json",
        headers={**api.headers("viewer"), "content-type": "application/json"},
    )
    assert (answer.status_code, answer.json()["code"]) == (403, "forbidden")


def test_failed_authentications_are_limited_per_address(api: Api) -> None:
    now = [0.0]
    settings = ServerSettings(auth_failures=3, auth_window_seconds=60)
    app = create_app(settings, store=api.store, auth_clock=lambda: now[0])
    from tests.server.conftest import InProcess

    client = InProcess(app)
    bad = {"authorization": "Bearer frp_000000000000_" + "x" * 43}
    statuses = [client.get("/api/v1/flags", headers=bad).status_code for _ in range(4)]
    assert statuses == [401, 401, 401, 429]
    blocked = client.get("/api/v1/flags", headers=api.headers("viewer"))
    assert blocked.status_code == 429
    assert int(blocked.headers["retry-after"]) == 60
    now[0] = 61.0
    assert client.get("/api/v1/flags", headers=api.headers("viewer")).status_code == 200
