"""Every route × every kind of caller, against a real server, from the route
table itself: no token, a revoked token, each permission, an SDK token of the
route's environment and one of another environment."""

from __future__ import annotations

import json
import re

import httpx
import pytest

from flagramp.server.app import create_app
from flagramp.server.flipper_api.app import HANDLERS
from flagramp.server.identity import Access, EnvironmentIn
from flagramp.server.matrix import LADDER, route_table
from flagramp.server.settings import ServerSettings
from flagramp.store.tokens import Permission
from tests.server.conftest import Api, InProcess
from tests.server.flipper_api.test_fuzz import template as flipper_template
from tests.server.live_server import serving

PARAMS = {"env": "production", "key": "flag-x", "name": "seg-x", "actor": "u1"}
PARAMS |= {"group": "g1", "token_id": "000000000000", "run": "R1"}
PARAMS |= {"backup": "20260101T000000Z-00000000"}
#: Authorization headers that name no valid token: each must be a 401.
UNAUTHENTICATED: dict[str, bytes | None] = {
    "none": None,
    "scheme_only": b"Bearer",
    "basic": b"Basic dXNlcjpwYXNz",
    "not_a_token": b"Bearer not-a-token",
    "unknown_id": b"Bearer frp_000000000000_" + b"x" * 43,
    "cut_short": b"Bearer frp_",
    "long": b"Bearer frp_" + b"x" * 4_000,
    "latin1": b"Bearer frp_\xff\xfe",
}
CALLERS = (*UNAUTHENTICATED, "revoked", *(p.value for p in LADDER), "sdk")
CALLERS += ("sdk_staging",)


def _url(path: str) -> str:
    return re.sub(r"{(\w+)(?::path)?}", lambda m: PARAMS[m.group(1)], path)


def caller_headers(api: Api, caller: str) -> dict[bytes, bytes]:
    if caller in UNAUTHENTICATED:
        value = UNAUTHENTICATED[caller]
        return {} if value is None else {b"authorization": value}
    return {b"authorization": api.headers(caller)["authorization"].encode()}


def refusal(access: Access | None, caller: str) -> tuple[int, str] | None:
    """The status and problem code the matrix says `caller` gets, or None when
    it is let through."""
    if access is None:
        return None
    if caller in UNAUTHENTICATED or caller == "revoked":
        return (401, "unauthorized")
    if caller == "sdk":
        return None if access.sdk is not None else (403, "forbidden")
    if caller == "sdk_staging":
        if access.sdk is None:
            return (403, "forbidden")
        if access.environment is not EnvironmentIn.NONE:
            return (403, "wrong_environment")
        return None
    needed = access.permission or Permission.VIEWER
    return None if Permission(caller).includes(needed) else (403, "forbidden")


def test_every_route_refuses_and_admits_exactly_whom_its_rule_says(api: Api) -> None:
    settings = ServerSettings(auth_failures=100_000, keepalive_seconds=60)
    app = create_app(settings, store=api.store, clock=api.clock)
    rules = route_table()
    assert len(rules) > 30
    tried = 0
    with serving(app) as base, httpx.Client(base_url=base, timeout=10) as client:
        for rule in rules:
            for caller in CALLERS:
                body = {"environment": "production", "events": []}
                with client.stream(
                    rule.method,
                    _url(rule.path),
                    params={"environment": "production"},
                    headers=caller_headers(api, caller),
                    json=body if rule.method in ("POST", "PUT") else None,
                ) as answer:
                    status = answer.status_code
                    document = answer.read() if status >= 400 else b""
                expected = refusal(rule.access, caller)
                where = f"{rule.method} {rule.path} as {caller}: {status}"
                assert status < 500, where
                if expected is None:
                    assert status not in (401, 403), where
                else:
                    assert status == expected[0], where
                    assert answer.headers["content-type"] == "application/problem+json"
                    assert json.loads(document)["code"] == expected[1], where
                    if status == 401:
                        assert answer.headers["www-authenticate"].startswith("Bearer")
                tried += 1
    assert tried == len(rules) * len(CALLERS)


def flipper_refusal(
    verb: str, caller: str, mount_environment: str
) -> tuple[int, str] | None:
    """What the Flipper API of `mount_environment` answers `caller`: engineers
    and above write, viewers and that environment's SDK tokens read, and any
    other token is unknown there."""
    sdk_environment = {"sdk": "production", "sdk_staging": "staging"}.get(caller)
    if caller in UNAUTHENTICATED or caller == "revoked":
        return (401, "unauthorized")
    if sdk_environment is not None and sdk_environment != mount_environment:
        return (401, "unauthorized")
    may_write = sdk_environment is None and Permission(caller).includes(
        Permission.ENGINEER
    )
    return None if verb == "GET" or may_write else (403, "read_only")


@pytest.mark.parametrize(
    ("mount", "environment"),
    [("/flipper/api", "production"), ("/flipper/staging/api", "staging")],
)
def test_every_flipper_route_refuses_and_admits_whom_the_rule_says(
    api: Api, mount: str, environment: str
) -> None:
    app = create_app(ServerSettings(auth_failures=100_000), store=api.store)
    client = InProcess(app)
    for (route, verb), _ in sorted(HANDLERS.items(), key=lambda i: i[0][0].value):
        path = mount + flipper_template(route).replace("{capture}", "flag-x")
        for caller in CALLERS:
            answer = client.request(
                verb,
                path,
                json={"name": "g", "flipper_id": "u1", "percentage": "5"},
                params={"allow_unregistered_groups": "true"},
                headers=caller_headers(api, caller),
            )
            expected = flipper_refusal(verb, caller, environment)
            where = f"{verb} {path} as {caller}: {answer.status_code}"
            assert answer.status_code < 500, where
            if expected is None:
                assert answer.status_code not in (401, 403), where
            else:
                assert answer.status_code == expected[0], where
                assert answer.json()["code"] == expected[1], where


@pytest.mark.parametrize("caller", ["none", "revoked"])
def test_refusals_say_why_as_problems(api: Api, caller: str) -> None:
    answer = api.client.get("/api/v1/flags", headers=caller_headers(api, caller))
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
    client = InProcess(app)
    bad = {"authorization": "Bearer frp_000000000000_" + "x" * 43}
    statuses = [client.get("/api/v1/flags", headers=bad).status_code for _ in range(4)]
    assert statuses == [401, 401, 401, 429]
    blocked = client.get("/api/v1/flags", headers=api.headers("viewer"))
    assert blocked.status_code == 429
    assert int(blocked.headers["retry-after"]) == 60
    now[0] = 61.0
    assert client.get("/api/v1/flags", headers=api.headers("viewer")).status_code == 200


def test_failures_on_both_apis_add_up_and_the_flipper_api_limits_too(
    api: Api,
) -> None:
    now = [0.0]
    settings = ServerSettings(auth_failures=3, auth_window_seconds=60)
    app = create_app(settings, store=api.store, auth_clock=lambda: now[0])
    client = InProcess(app)
    guess = "frp_000000000000_" + "x" * 43
    flipper_guess = {"flipper-cloud-token": guess}
    first = [
        client.get("/flipper/api/features", headers=flipper_guess).status_code,
        client.get(
            "/api/v1/flags", headers={"authorization": f"Bearer {guess}"}
        ).status_code,
        client.get("/flipper/api/features", headers=flipper_guess).status_code,
    ]
    assert first == [401, 401, 401]
    admin = {"flipper-cloud-token": api.tokens["admin"]}
    blocked = client.get("/flipper/api/features", headers=admin)
    assert blocked.status_code == 429
    assert blocked.json()["code"] == "too_many_failures"
    assert set(blocked.json()) == {"code", "message", "more_info"}
    assert int(blocked.headers["retry-after"]) == 60
    assert client.get("/api/v1/flags", headers=api.headers("admin")).status_code == 429
    refused = client.get("/metrics", headers=api.headers("admin"))
    assert refused.status_code == 429  # the address is refused everywhere
    now[0] = 61.0
    assert client.get("/flipper/api/features", headers=admin).status_code == 200
    metrics = client.get("/metrics", headers=api.headers("admin")).text
    assert 'flagramp_auth_failures_total{reason="invalid"} 3.0' in metrics
