"""A dashboard session lasts no longer than its token: it ends when the token
expires, and an expired token cannot log in."""

from __future__ import annotations

import datetime as dt

import pytest

from flagramp.core.clock import VirtualClock
from flagramp.store import Author
from flagramp.store.tokens import OwnerKind, Permission, TokenStore
from tests.server.dashboard.conftest import Dashboard

T0 = dt.datetime(2026, 5, 4, 8, 0, tzinfo=dt.UTC)


@pytest.fixture
def clock(dashboard: Dashboard) -> VirtualClock:
    """The store's clock, which judges expiry (sessions age by their own)."""
    clock = VirtualClock(T0)
    dashboard.store.clock = clock
    return clock


def _expiring(dashboard: Dashboard, name: str, lifetime: dt.timedelta) -> None:
    dashboard.tokens[name] = (
        TokenStore(dashboard.store)
        .issue(
            owner=f"{name}@example.org",
            owner_kind=OwnerKind.PERSON,
            permission=Permission.ENGINEER,
            author=Author("admin@example.org"),
            expires_at=T0 + lifetime,
        )
        .token
    )


def test_the_session_of_an_expired_token_ends_at_the_next_request(
    dashboard: Dashboard, clock: VirtualClock
) -> None:
    _expiring(dashboard, "contractor", dt.timedelta(hours=2))
    browser = dashboard.browser("contractor")
    assert browser.get("/dashboard/flags").status_code == 200
    clock.advance(dt.timedelta(hours=2))
    page = browser.get("/dashboard/flags")
    assert page.status_code == 303
    assert page.headers["location"] == "/dashboard/login"
    htmx = browser.get("/dashboard/flags", headers={"hx-request": "true"})
    assert htmx.status_code == 401


def test_an_expired_token_cannot_log_in_and_is_told_why(
    dashboard: Dashboard, clock: VirtualClock
) -> None:
    _expiring(dashboard, "contractor", dt.timedelta(minutes=5))
    clock.advance(dt.timedelta(minutes=5))
    answer = dashboard.browser().login(dashboard.tokens["contractor"])
    assert answer.status_code == 401
    assert "That token has expired." in answer.text
    assert "flagramp_session" not in answer.cookies
