"""`flagramp token create --expires-in` and `token list`'s expiry column."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from flagramp.core.clock import VirtualClock
from flagramp.store import Author, SqlFlagStore
from flagramp.store.tokens import OwnerKind, Permission, TokenStore
from tests.cli.conftest import Invoke, assert_one_error, store_state


def test_expires_in_sets_the_expiry_from_now(cli: Invoke) -> None:
    before = dt.datetime.now(dt.UTC).replace(microsecond=0)
    result = cli(
        "token", "create", "viewer", "--person", "qa@va.gov", "--expires-in", "90d"
    )
    after = dt.datetime.now(dt.UTC)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("frp_")
    listed = json.loads(cli("token", "list", "--json").stdout)
    expires = dt.datetime.fromisoformat(listed[0]["expires_at"])
    assert before + dt.timedelta(days=90) <= expires <= after + dt.timedelta(days=90)
    assert f"expires {listed[0]['expires_at']}" in result.stderr


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("soon", "'soon' is not a duration"),
        ("90x", "'90x' is not a duration"),
        ("0m", "longer than zero"),
        ("12 hours", "write 12h"),
        ("-1d", "not a duration"),
    ],
)
def test_a_bad_expiry_is_one_error_and_issues_nothing(
    cli: Invoke, store: SqlFlagStore, value: str, says: str
) -> None:
    state = store_state(store)
    result = cli(
        "token", "create", "viewer", "--person", "qa@va.gov", "--expires-in", value
    )
    assert_one_error(result, "--expires-in: ")
    assert says in result.stderr
    assert store_state(store) == state
    assert TokenStore(store).list() == []


def test_list_shows_each_expiry_and_marks_the_expired(cli: Invoke, db_url: str) -> None:
    # Issued by a store whose clock stood in 2025: one has expired since.
    past = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    issuer = TokenStore(SqlFlagStore.open(db_url, clock=VirtualClock(past)))
    for owner, expires in (
        ("old@va.gov", past + dt.timedelta(days=30)),
        ("far@va.gov", dt.datetime(2999, 1, 1, tzinfo=dt.UTC)),
        ("ever@va.gov", None),
    ):
        issuer.issue(
            owner=owner,
            owner_kind=OwnerKind.PERSON,
            permission=Permission.VIEWER,
            author=Author("setup"),
            expires_at=expires,
        )
    result = cli("token", "list")
    assert result.exit_code == 0, result.output
    assert "expires" in result.stdout.splitlines()[1]
    # The table's cells wrap with the terminal's width: one mark, one "never".
    assert result.stdout.count("(expired)") == 1
    assert result.stdout.count("never") == 1
    listed = cli("token", "list", "--json")
    assert listed.exit_code == 0, listed.output
    expiry = {t["owner"]: t["expires_at"] for t in json.loads(listed.stdout)}
    assert expiry == {
        "old@va.gov": "2025-01-31T00:00:00+00:00",
        "far@va.gov": "2999-01-01T00:00:00+00:00",
        "ever@va.gov": None,
    }
