"""Secrets and sessions: security headers on every answer (every route of the
route table, Flipper's, unknown paths, refusals), CORS only when configured,
and no token text in any log line, whether authentication fails or succeeds."""

from __future__ import annotations

import logging
import re

import pytest

from flagramp.server.app import create_app
from flagramp.server.matrix import route_table
from flagramp.server.middleware.security_headers import HEADERS
from flagramp.server.settings import ServerSettings
from tests.server.conftest import Api, InProcess

PARAMS = {"env": "production", "key": "flag-x", "name": "seg-x", "actor": "u1"}
PARAMS |= {"group": "g1", "token_id": "000000000000", "run": "R1"}
PARAMS |= {"backup": "20260101T000000Z-00000000"}
#: Paths that no route of the table holds, answered all the same.
OTHER_PATHS = [
    ("GET", "/flipper/api/features"),
    ("POST", "/flipper/api/features"),
    ("GET", "/flipper/staging/api/features/x"),
    ("GET", "/no/such/path"),
    ("PATCH", "/api/v1/flags"),
    ("GET", "/api/v1/openapi.json"),
]
#: Answers that may be kept: the snapshot's ETag and a stream's no-cache.
MAY_CACHE = {"/api/v1/environments/{env}/snapshot", "/api/v1/stream"}


def _url(path: str) -> str:
    return re.sub(r"{(\w+)(?::path)?}", lambda m: PARAMS[m.group(1)], path)


def _requests() -> list[tuple[str, str, str]]:
    table = [
        (rule.method, _url(rule.path), rule.path)
        for rule in route_table()
        if rule.path != "/api/v1/stream"  # never ends in process; see the matrix
    ]
    return table + [(method, path, path) for method, path in OTHER_PATHS]


@pytest.mark.parametrize("who", ["admin", "viewer", "none"])
def test_every_answer_carries_the_security_headers(api: Api, who: str) -> None:
    headers = {} if who == "none" else api.headers(who)
    for method, url, route in _requests():
        answer = api.client.request(
            method, url, headers=headers, params={"environment": "production"}
        )
        where = f"{method} {url} as {who}: {answer.status_code}"
        for name, value in HEADERS.items():
            assert answer.headers.get(name) == value, (where, name)
        cache = answer.headers.get("cache-control", "")
        if route in MAY_CACHE and answer.status_code < 400:
            assert cache, where
        else:
            assert cache == "no-store", where
        assert "access-control-allow-origin" not in answer.headers, where


def test_cors_answers_only_the_configured_origins(api: Api) -> None:
    settings = ServerSettings(cors_origins=("https://console.example",))
    client = InProcess(create_app(settings, store=api.store, clock=api.clock))
    allowed = client.request(
        "OPTIONS",
        "/api/v1/flags",
        headers={
            "origin": "https://console.example",
            "access-control-request-method": "GET",
            "access-control-request-headers": "authorization",
        },
    )
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == "https://console.example"
    refused = client.get(
        "/api/v1/flags",
        headers={**api.headers("viewer"), "origin": "https://evil.example"},
    )
    assert refused.status_code == 200
    assert "access-control-allow-origin" not in refused.headers
    assert refused.headers["x-frame-options"] == "DENY"
    # Without the setting, a preflight gets no CORS answer at all.
    preflight = api.client.request(
        "OPTIONS",
        "/api/v1/flags",
        headers={
            "origin": "https://console.example",
            "access-control-request-method": "GET",
        },
    )
    assert "access-control-allow-origin" not in preflight.headers


def test_cors_origins_come_from_the_environment() -> None:
    settings = ServerSettings.from_env(
        {"FLAGRAMP_CORS_ORIGINS": " https://a.example , https://b.example,"}
    )
    assert settings.cors_origins == ("https://a.example", "https://b.example")
    assert ServerSettings.from_env({}).cors_origins == ()


def test_no_log_line_holds_token_text(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    app = create_app(ServerSettings(auth_failures=3), store=api.store)
    client = InProcess(app)
    secrets = [api.tokens[name] for name in ("admin", "viewer", "sdk", "revoked")]
    guess = "frp_000000000000_" + "S3cr3tGu3ss" * 4
    secrets.append(guess)
    calls = [
        ("GET", "/api/v1/flags", {"authorization": f"Bearer {api.tokens['viewer']}"}),
        ("GET", "/api/v1/flags", {"authorization": f"Bearer {api.tokens['revoked']}"}),
        ("POST", "/api/v1/flags", {"authorization": f"Bearer {api.tokens['sdk']}"}),
        ("GET", "/api/v1/tokens", {"authorization": f"Bearer {api.tokens['admin']}"}),
        ("GET", "/flipper/api/features", {"flipper-cloud-token": api.tokens["sdk"]}),
        ("GET", "/flipper/api/features", {"flipper-cloud-token": guess}),
        ("GET", "/api/v1/flags", {"authorization": f"Bearer {guess}"}),
        ("GET", "/api/v1/flags", {"authorization": f"Bearer {guess}"}),
        ("GET", "/api/v1/flags", {"authorization": f"Bearer {api.tokens['admin']}"}),
    ]
    issued = client.post(
        "/api/v1/tokens",
        json={"owner": "ci", "owner_kind": "service", "permission": "viewer"},
        headers=api.headers("admin"),
    )
    assert issued.status_code == 201
    secrets.append(issued.json()["token"])
    statuses = [client.request(m, p, headers=h).status_code for m, p, h in calls]
    assert statuses == [200, 401, 403, 200, 200, 401, 401, 429, 429]
    logged = "\n".join(
        f"{r.name} {r.getMessage()} {r.args!r} {r.exc_text or ''}"
        for r in caplog.records
    )
    for token in secrets:
        secret = token.split("_", 2)[2]
        assert secret not in logged, "a token's secret was logged"
    audit = "\n".join(f"{c.before} {c.after}" for c in api.store.changes_since(0))
    for token in secrets:
        assert token.split("_", 2)[2] not in audit


def test_the_session_key_is_not_in_the_settings_repr() -> None:
    # `serve --workers` passes it to the workers in FLAGRAMP_SESSION_KEY; a
    # traceback or a debug print of the settings must not show it.
    settings = ServerSettings.from_env({"FLAGRAMP_SESSION_KEY": "k-9f3a2c-secret"})
    assert settings.session_key == "k-9f3a2c-secret"
    assert "k-9f3a2c-secret" not in repr(settings)


def test_a_made_up_http_method_is_one_label(api: Api) -> None:
    # The method is the client's text: a label each would grow /metrics
    # without bound.
    for made_up in ("XA1", "XA2", "XA3"):
        api.client.request(made_up, "/api/v1/flags", headers=api.headers("viewer"))
    text = api.client.get("/metrics", headers=api.headers("viewer")).text
    assert "XA1" not in text
    assert 'method="(other)",route="/api/v1/flags",status="405"} 3.0' in text
