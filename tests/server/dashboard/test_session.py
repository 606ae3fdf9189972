"""The session cookie's codec: what it signs reads back; nothing else does."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flagramp.server.dashboard.offers import Action, access_of
from flagramp.server.dashboard.session import Session, SessionCodec
from flagramp.server.matrix import route_table
from flagramp.store.tokens import Permission

NOW = dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC)
CODEC = SessionCodec.from_setting("a key long enough to sign with")


@given(st.text(min_size=1, max_size=80))
def test_a_signed_session_reads_back_equal(token: str) -> None:
    session = CODEC.new(token, NOW)
    assert CODEC.decode(CODEC.encode(session)) == session


@given(st.integers(min_value=0, max_value=200), st.sampled_from("AZaz09-_."))
def test_changing_any_character_of_the_cookie_voids_it(at: int, char: str) -> None:
    value = CODEC.encode(CODEC.new("frp_abc_secret", NOW))
    index = at % len(value)
    if value[index] == char:
        return
    forged = value[:index] + char + value[index + 1 :]
    assert CODEC.decode(forged) is None


def test_another_servers_key_cannot_read_the_cookie() -> None:
    value = CODEC.encode(CODEC.new("frp_abc_secret", NOW))
    assert (
        SessionCodec.from_setting("another key, as long as the first").decode(value)
        is None
    )
    assert SessionCodec.from_setting(None).decode(value) is None


@pytest.mark.parametrize("value", [None, "", "no-dot", ".", "e30.", "!!!.???"])
def test_damaged_cookies_are_no_session(value: str | None) -> None:
    assert CODEC.decode(value) is None


def test_a_session_expires_after_twelve_hours() -> None:
    session = Session("t", "c", NOW)
    assert not session.is_expired(NOW + dt.timedelta(hours=12))
    assert session.is_expired(NOW + dt.timedelta(hours=12, seconds=1))


def test_the_csrf_nonce_must_match_exactly() -> None:
    session = CODEC.new("t", NOW)
    assert session.csrf_matches(session.csrf)
    assert not session.csrf_matches(None)
    assert not session.csrf_matches(session.csrf[:-1])


def test_a_short_key_is_refused() -> None:
    with pytest.raises(ValueError, match="16 bytes"):
        SessionCodec(b"short")


def test_each_flag_action_follows_its_api_routes_rule() -> None:
    rules = {(r.method, r.path): r.access for r in route_table()}
    assert (
        access_of(Action.FLAG_ENABLE)
        is rules[("POST", "/api/v1/flags/{key:path}/enable")]
    )
    assert access_of(Action.FLAG_ENABLE).permission is Permission.ENGINEER
    assert access_of(Action.FLAG_EXPLAIN).permission is Permission.VIEWER
