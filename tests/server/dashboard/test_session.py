"""The session cookie's codec: what it signs reads back; nothing else does,
not even an old cookie (one that held the token) signed with the same key."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flagramp.server.dashboard.offers import Action, access_of
from flagramp.server.dashboard.session import Session, SessionCodec
from flagramp.server.matrix import route_table
from flagramp.store.tokens import Permission
from tests.server.dashboard.conftest import cookie_document, signed_cookie

NOW = dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC)
KEY = "a key long enough to sign with"
CODEC = SessionCodec.from_setting(KEY)


@given(st.text(min_size=1, max_size=24))
def test_a_signed_session_reads_back_equal(token_id: str) -> None:
    session = CODEC.new(token_id, NOW)
    assert CODEC.decode(CODEC.encode(session)) == session


@given(st.integers(min_value=0, max_value=200), st.sampled_from("AZaz09-_."))
def test_changing_any_character_of_the_cookie_voids_it(at: int, char: str) -> None:
    value = CODEC.encode(CODEC.new("abc123def456", NOW))
    index = at % len(value)
    if value[index] == char:
        return
    forged = value[:index] + char + value[index + 1 :]
    assert CODEC.decode(forged) is None


def test_another_servers_key_cannot_read_the_cookie() -> None:
    value = CODEC.encode(CODEC.new("abc123def456", NOW))
    assert (
        SessionCodec.from_setting("another key, as long as the first").decode(value)
        is None
    )
    assert SessionCodec.from_setting(None).decode(value) is None


@pytest.mark.parametrize("value", [None, "", "no-dot", ".", "e30.", "!!!.???"])
def test_damaged_cookies_are_no_session(value: str | None) -> None:
    assert CODEC.decode(value) is None


def test_the_tests_signer_is_the_codecs() -> None:
    document = {"k": "abc123def456", "c": "nonce", "i": NOW.isoformat()}
    value = signed_cookie(KEY, document)
    assert CODEC.decode(value) == Session("abc123def456", "nonce", NOW)


@pytest.mark.parametrize(
    "document",
    [
        # The old cookie: the token itself under "t".
        {"t": "frp_abc123def456_" + "s" * 43, "c": "nonce", "i": NOW.isoformat()},
        {"k": "", "c": "nonce", "i": NOW.isoformat()},
        {"k": "x" * 25, "c": "nonce", "i": NOW.isoformat()},
        {"k": 7, "c": "nonce", "i": NOW.isoformat()},
        {"k": "abc123def456", "c": "", "i": NOW.isoformat()},
        {"k": "abc123def456", "c": ["nonce"], "i": NOW.isoformat()},
        {"k": "abc123def456", "c": "nonce", "i": "2026-03-02T09:00:00"},
        {"k": "abc123def456", "c": "nonce", "i": 1700000000},
        {"k": "abc123def456", "c": "nonce"},
        ["abc123def456", "nonce", NOW.isoformat()],
    ],
)
def test_signed_cookies_of_another_shape_are_no_session(document: object) -> None:
    assert CODEC.decode(signed_cookie(KEY, document)) is None


def test_the_cookie_holds_the_token_id_and_no_secret() -> None:
    document = cookie_document(CODEC.encode(CODEC.new("abc123def456", NOW)))
    assert set(document) == {"k", "c", "i"}
    assert document["k"] == "abc123def456"


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
