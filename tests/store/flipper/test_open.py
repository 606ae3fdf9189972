"""Opening a store on Flipper's tables: URLs, what is refused, and in words."""

from __future__ import annotations

from pathlib import Path

import pytest

from flagramp.core.errors import (
    FlipperTablesNotFound,
    InvalidIdentifier,
    SharedUsersUnsupported,
    StoreError,
    StoreUnavailable,
)
from flagramp.core.flags import Flag
from flagramp.store import (
    Author,
    FlipperTablesStore,
    MemoryFlagStore,
    SqlFlagStore,
    check_shared_users,
    open_flag_store,
)
from flagramp.store.flipper import parse_flag_store_url
from tests.store.flipper.conftest import FlipperSetup
from tests.store.flipper.tables import create_flipper_tables, execute

ALICE = Author("alice@va.gov")


@pytest.mark.parametrize(
    ("url", "database", "prefix", "environment"),
    [
        ("flipper+sqlite:///app.db", "sqlite:///app.db", "", "production"),
        ("sqlite:///app.db", "sqlite:///app.db", "", "production"),
        (
            "flipper+postgresql+psycopg://u:secret@h/app?table_prefix=app_&environment=qa",
            "postgresql+psycopg://u:***@h/app",
            "app_",
            "qa",
        ),
        (
            "flipper+mysql+pymysql://root@h/app?charset=utf8mb4&environment=pre-prod",
            "mysql+pymysql://root@h/app?charset=utf8mb4",
            "",
            "pre-prod",
        ),
    ],
)
def test_flag_store_urls(
    url: str, database: str, prefix: str, environment: str
) -> None:
    parsed = parse_flag_store_url(url)
    assert (parsed.shown, parsed.table_prefix, parsed.environment) == (
        database,
        prefix,
        environment,
    )


@pytest.mark.parametrize(
    ("url", "error", "message"),
    [
        ("flipper+nonsense", StoreError, "not a database URL: 'flipper+nonsense'"),
        (
            "flipper+sqlite:///a.db?table_prefix=x;drop",
            StoreError,
            "a table prefix is letters, digits and '_', not 'x;drop'",
        ),
        ("flipper+sqlite:///a.db?environment=a/b", InvalidIdentifier, "environment"),
        (
            "flipper+sqlite:///a.db?environment=a&environment=b",
            StoreError,
            "environment is given more than once",
        ),
    ],
)
def test_bad_urls_are_refused_in_words(
    url: str, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message.replace("(", r"\(").replace("+", r"\+")):
        parse_flag_store_url(url)


def test_a_database_without_flippers_tables_is_named(tmp_path: Path) -> None:
    flipper = f"sqlite:///{tmp_path / 'app.db'}"
    execute(flipper, "CREATE TABLE flipper_features (id integer primary key)")
    with pytest.raises(FlipperTablesNotFound) as caught:
        FlipperTablesStore.open("flipper+" + flipper, f"sqlite:///{tmp_path / 'f.db'}")
    assert str(caught.value) == (
        f"no Flipper tables at {flipper}: flipper_features has no column key, "
        "created_at, updated_at (flagramp never creates or changes Flipper's "
        "tables; run Flipper's own migration, `rails g flipper:active_record`)"
    )
    with pytest.raises(FlipperTablesNotFound, match="there is no table app_flipper"):
        FlipperTablesStore.open(
            "flipper+" + flipper + "?table_prefix=app_",
            f"sqlite:///{tmp_path / 'f.db'}",
        )


def test_one_sqlite_file_cannot_hold_both(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'app.db'}"
    create_flipper_tables(url)
    with pytest.raises(StoreError, match="cannot share the SQLite file"):
        FlipperTablesStore.open("flipper+" + url, url)


def test_flippers_database_unreachable_before_adoption_is_an_error(
    tmp_path: Path,
) -> None:
    with pytest.raises(StoreUnavailable, match="cannot connect to postgresql"):
        FlipperTablesStore.open(
            "flipper+postgresql+psycopg://nobody@127.0.0.1:1/app",
            f"sqlite:///{tmp_path / 'f.db'}",
        )


def test_the_flag_store_variable_chooses_the_backend(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    own = f"sqlite:///{tmp_path / 'f.db'}"
    flipper = f"sqlite:///{tmp_path / 'app.db'}"
    create_flipper_tables(flipper)
    monkeypatch.setenv("FLAGRAMP_DATABASE_URL", own)
    monkeypatch.delenv("FLAGRAMP_FLAG_STORE", raising=False)
    plain = open_flag_store()
    assert type(plain) is SqlFlagStore
    plain.engine.dispose()
    monkeypatch.setenv("FLAGRAMP_FLAG_STORE", "flipper+" + flipper)
    store = open_flag_store()
    assert isinstance(store, FlipperTablesStore)
    store.close()
    monkeypatch.setenv("FLAGRAMP_FLAG_STORE", flipper)
    with pytest.raises(StoreError, match="must be a flipper\\+… URL"):
        open_flag_store()


def test_shared_users_are_refused_on_flippers_tables_only(
    flipper_setup: FlipperSetup,
) -> None:
    flipper_setup.tables("text")
    store = flipper_setup.open()
    with pytest.raises(SharedUsersUnsupported) as caught:
        check_shared_users(store, ["vaos_a", "vaos_b"])
    assert str(caught.value) == (
        "flags 'vaos_a', 'vaos_b' in 'production' cannot share their users on "
        "Flipper's tables: Ruby Flipper buckets every flag on its own name, so "
        "the Ruby app would give each flag different users; use flagramp's own "
        "store, or give each flag its own phase"
    )
    check_shared_users(store, ["vaos_a", "vaos_b"], "staging")  # flagramp's own
    check_shared_users(store, ["vaos_a"])  # one flag shares with nobody
    check_shared_users(MemoryFlagStore(), ["vaos_a", "vaos_b"])


def test_writes_before_adoption_are_refused(flipper_setup: FlipperSetup) -> None:
    flipper_setup.tables("text")
    store = flipper_setup.open()
    unadopted = FlipperTablesStore(store.engine, store.flipper)
    with store.engine.begin() as conn:
        conn.exec_driver_sql("DELETE FROM flipper_adoptions")
    with pytest.raises(StoreError, match="which have not been read yet"):
        unadopted.create_flag(Flag("x"), ALICE)
    assert unadopted.get_flag("x") is None
    unadopted.create_flag(Flag("x"), ALICE, "staging")  # flagramp's own: fine
