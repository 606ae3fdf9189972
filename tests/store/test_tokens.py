"""API token expiry in the store: migration 0011 from the previous head, issue
with an expiry, and authentication judged by the store's clock or a given `now`."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from flagramp.core.clock import VirtualClock
from flagramp.core.errors import InvalidToken
from flagramp.store import Author, SqlFlagStore
from flagramp.store.backups import create_backup, restore_backup
from flagramp.store.database import (
    MIGRATIONS,
    current_revision,
    head_revision,
    migrate_to,
    open_engine,
    upgrade,
)
from flagramp.store.tokens import OwnerKind, Permission, TokenStore, secret_hash
from tests.conftest import SQL_BACKENDS, empty_database

PREVIOUS_HEAD = "0010_runs"
ALICE = Author("alice@va.gov", "rotation")
T0 = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)
#: A token written by flagramp at 0010, before tokens could expire.
OLD_ID = "0123456789ab"
OLD_SECRET = "s" * 43
OLD_TOKEN = f"frp_{OLD_ID}_{OLD_SECRET}"


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock(T0)


@pytest.fixture
def tokens(tmp_path: Path, clock: VirtualClock) -> Iterator[TokenStore]:
    store = SqlFlagStore.open(f"sqlite:///{tmp_path / 'tokens.db'}", clock=clock)
    yield TokenStore(store)
    store.engine.dispose()


def _issue(tokens: TokenStore, expires_at: dt.datetime | None) -> str:
    return tokens.issue(
        owner="release@va.gov",
        owner_kind=OwnerKind.PERSON,
        permission=Permission.OPERATOR,
        author=ALICE,
        expires_at=expires_at,
    ).token


@pytest.mark.parametrize("backend", SQL_BACKENDS)
def test_the_migration_adds_a_null_expiry_to_the_tokens_already_issued(
    backend: str, tmp_path: Path
) -> None:
    with empty_database(backend, tmp_path) as url:
        engine = open_engine(url, migrate=False)
        with engine.begin() as conn:
            migrate_to(conn, PREVIOUS_HEAD)
            conn.execute(
                sa.text(
                    "INSERT INTO api_tokens (id, secret_sha256, owner, owner_kind, "
                    "permission, environment, description, created_at, created_by) "
                    "VALUES (:id, :sha, 'ops@va.gov', 'person', 'admin', NULL, '', "
                    "'2026-01-01T00:00:00+00:00', 'setup')"
                ),
                {"id": OLD_ID, "sha": secret_hash(OLD_SECRET)},
            )
        upgrade(engine)
        assert current_revision(engine) == head_revision() == "0011_token_expiry"
        columns = {c["name"]: c for c in sa.inspect(engine).get_columns("api_tokens")}
        assert columns["expires_at"]["nullable"]
        # Years later by the store's clock, the old token still works: NULL never
        # expires.
        later = VirtualClock(dt.datetime(2040, 1, 1, tzinfo=dt.UTC))
        record = TokenStore(SqlFlagStore(engine, later)).authenticate(OLD_TOKEN)
        assert record is not None and record.expires_at is None
        # And back down: the column goes, the row stays.
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        with engine.begin() as conn:
            config.attributes["connection"] = conn
            command.downgrade(config, PREVIOUS_HEAD)
        columns = {c["name"]: c for c in sa.inspect(engine).get_columns("api_tokens")}
        assert "expires_at" not in columns
        with engine.connect() as conn:
            count = conn.execute(sa.text("SELECT count(*) FROM api_tokens"))
            assert count.scalar_one() == 1
        engine.dispose()


def test_a_token_works_until_its_expiry_by_the_stores_clock(
    tokens: TokenStore, clock: VirtualClock
) -> None:
    token = _issue(tokens, T0 + dt.timedelta(hours=12))
    record = tokens.authenticate(token)
    assert record is not None
    assert record.expires_at == "2026-03-01T21:00:00+00:00"
    assert tokens.active(record.id) == record
    clock.advance(dt.timedelta(hours=12) - dt.timedelta(seconds=1))
    assert tokens.authenticate(token) == record
    clock.advance(dt.timedelta(seconds=1))  # exactly at expiry: refused
    assert tokens.authenticate(token) is None
    assert tokens.active(record.id) is None
    # Still there to list and to tell why it is refused.
    assert tokens.presented(token) == record
    assert tokens.get(record.id).is_expired(clock.now())


def test_a_given_now_judges_instead_of_the_clock(tokens: TokenStore) -> None:
    token = _issue(tokens, T0 + dt.timedelta(days=90))
    token_id = token.split("_")[1]
    after = T0 + dt.timedelta(days=91)
    assert tokens.authenticate(token, now=after) is None
    assert tokens.active(token_id, now=after) is None
    assert tokens.authenticate(token, now=T0 + dt.timedelta(days=89)) is not None
    record = tokens.get(token_id)
    assert record.is_usable(T0) and not record.is_usable(after)


def test_a_token_without_expiry_never_expires(
    tokens: TokenStore, clock: VirtualClock
) -> None:
    token = _issue(tokens, None)
    clock.advance(dt.timedelta(days=3650))
    record = tokens.authenticate(token)
    assert record is not None and record.expires_at is None


def test_the_expiry_is_kept_in_utc_to_the_second_and_audited(
    tokens: TokenStore,
) -> None:
    eastern = dt.timezone(dt.timedelta(hours=-5))
    token = _issue(tokens, dt.datetime(2026, 3, 2, 7, 30, 15, 999_000, eastern))
    record = tokens.get(token.split("_")[1])
    assert record.expires_at == "2026-03-02T12:30:15+00:00"
    assert record.to_json()["expires_at"] == record.expires_at
    issue = [e for e in tokens.store.audit_entries() if e.entity_kind == "token"]
    assert [e.action for e in issue] == ["issue"]
    assert issue[0].after is not None
    assert json.loads(issue[0].after)["expires_at"] == record.expires_at
    assert tokens.store.verify_audit().ok


@pytest.mark.parametrize(
    ("expires_at", "detail"),
    [
        (T0, "is not in the future"),
        (T0 - dt.timedelta(minutes=1), "is not in the future"),
        (dt.datetime(2026, 6, 1), "time zone"),
    ],
)
def test_an_expiry_that_is_not_later_is_refused_and_nothing_is_written(
    tokens: TokenStore, expires_at: dt.datetime, detail: str
) -> None:
    version = tokens.store.version()
    with pytest.raises(InvalidToken, match=detail) as raised:
        _issue(tokens, expires_at)
    assert raised.value.field == "expires_at"
    assert tokens.list() == []
    assert tokens.store.version() == version


def test_a_backup_keeps_the_expiry(tokens: TokenStore, tmp_path: Path) -> None:
    token = _issue(tokens, T0 + dt.timedelta(days=30))
    ref = create_backup(
        tokens.store, label="before rotation", author=ALICE, directory=tmp_path
    )
    assert ref.path is not None
    target = SqlFlagStore.open(
        f"sqlite:///{tmp_path / 'target.db'}",
        clock=VirtualClock(T0 + dt.timedelta(days=31)),
        keyring=tokens.store.keyring,
    )
    restore_backup(target, ref.path, author=ALICE)
    restored = TokenStore(target)
    assert restored.get(token.split("_")[1]).expires_at == "2026-03-31T09:00:00+00:00"
    assert restored.authenticate(token) is None  # expired by the target's clock
    target.engine.dispose()
