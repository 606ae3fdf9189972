"""Expiring tokens over HTTP: issued with `expires_in`, refused once expired with
a 401 that says so (and only to whoever holds the secret)."""

from __future__ import annotations

import datetime as dt

import pytest

from flagramp.core.clock import VirtualClock
from flagramp.store import Author
from flagramp.store.tokens import OwnerKind, Permission, TokenStore, split_token
from tests.server.conftest import Api

T0 = dt.datetime(2026, 5, 4, 8, 0, tzinfo=dt.UTC)


@pytest.fixture
def clock(api: Api) -> VirtualClock:
    """The store's clock, which judges expiry (the app holds the same store)."""
    clock = VirtualClock(T0)
    api.store.clock = clock
    return clock


def _bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


def _expiring(api: Api, lifetime: dt.timedelta) -> str:
    return (
        TokenStore(api.store)
        .issue(
            owner="rotating@example.org",
            owner_kind=OwnerKind.PERSON,
            permission=Permission.VIEWER,
            author=Author("admin@example.org"),
            expires_at=T0 + lifetime,
        )
        .token
    )


def test_an_expired_token_is_refused_with_a_401_that_says_it_expired(
    api: Api, clock: VirtualClock
) -> None:
    token = _expiring(api, dt.timedelta(hours=1))
    before = api.client.get("/api/v1/tokens/me", headers=_bearer(token))
    assert before.status_code == 200, before.text
    assert before.json()["expires_at"] == "2026-05-04T09:00:00+00:00"
    clock.advance(dt.timedelta(hours=1))
    after = api.client.get("/api/v1/tokens/me", headers=_bearer(token))
    assert after.status_code == 401
    assert after.headers["content-type"] == "application/problem+json"
    assert after.headers["www-authenticate"] == 'Bearer realm="flagramp"'
    assert (after.json()["code"], after.json()["detail"]) == (
        "unauthorized",
        "the token has expired",
    )
    metrics = api.client.get("/metrics", headers=api.headers("viewer")).text
    assert 'flagramp_auth_failures_total{reason="expired"} 1.0' in metrics


def test_expired_is_said_only_to_the_secrets_holder_and_not_for_revoked(
    api: Api, clock: VirtualClock
) -> None:
    token = _expiring(api, dt.timedelta(minutes=30))
    clock.advance(dt.timedelta(hours=1))
    parts = split_token(token)
    assert parts is not None
    token_id, secret = parts
    wrong = f"frp_{token_id}_{'A' * len(secret)}"
    guessed = api.client.get("/api/v1/tokens/me", headers=_bearer(wrong))
    assert guessed.json()["detail"] == "the token is unknown or revoked"
    TokenStore(api.store).revoke(token_id, Author("admin@example.org"))
    revoked = api.client.get("/api/v1/tokens/me", headers=_bearer(token))
    assert revoked.status_code == 401
    assert revoked.json()["detail"] == "the token is unknown or revoked"


def test_admins_issue_a_token_that_expires_in_a_duration(
    api: Api, clock: VirtualClock
) -> None:
    issued = api.client.post(
        "/api/v1/tokens",
        json={
            "owner": "deploy",
            "owner_kind": "service",
            "permission": "operator",
            "expires_in": "12h",
        },
        headers=api.headers("admin"),
    )
    assert issued.status_code == 201, issued.text
    assert issued.json()["expires_at"] == "2026-05-04T20:00:00+00:00"
    token = issued.json()["token"]
    clock.advance(dt.timedelta(hours=11, minutes=59))
    assert api.client.get("/api/v1/tokens/me", headers=_bearer(token)).is_success
    clock.advance(dt.timedelta(minutes=1))
    assert (
        api.client.get("/api/v1/tokens/me", headers=_bearer(token)).status_code == 401
    )
    listed = api.client.get("/api/v1/tokens", headers=api.headers("admin")).json()
    never = [t for t in listed["tokens"] if t["owner"] == "admin@example.org"]
    assert never[0]["expires_at"] is None


@pytest.mark.parametrize("expires_in", ["90 days", "0m", "", 90])
def test_a_bad_duration_is_a_422_and_issues_nothing(
    api: Api, clock: VirtualClock, expires_in: object
) -> None:
    count = len(TokenStore(api.store).list())
    answer = api.client.post(
        "/api/v1/tokens",
        json={
            "owner": "deploy",
            "owner_kind": "service",
            "permission": "operator",
            "expires_in": expires_in,
        },
        headers=api.headers("admin"),
    )
    assert (answer.status_code, answer.json()["code"]) == (422, "invalid_request")
    assert "expires_in" in answer.text
    assert len(TokenStore(api.store).list()) == count
