"""The keyed audit chain and the replay: what someone who can write the database
but does not hold the key can no longer hide, on SQLite, PostgreSQL and MariaDB."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pytest
import sqlalchemy as sa

from flagramp.core.errors import StoreError
from flagramp.core.flags import Flag, Percentage, Segment
from flagramp.core.flags import operations as ops
from flagramp.store import AuditKeyring, Author, SqlFlagStore
from flagramp.store.audit import keyed_hash, legacy_hash
from flagramp.store.audit_keys import KEY_FILE_ENV
from tests.conftest import SQL_BACKENDS, migrated_database

ALICE = Author("alice@va.gov", "test")


@pytest.fixture(params=SQL_BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SqlFlagStore]:
    """A store with one flag created and changed four times (rows 1–5)."""
    with migrated_database(request, tmp_path) as url:
        store = SqlFlagStore.open(url)
        store.create_flag(Flag("x"), ALICE)
        for p in ("5", "10", "25", "50"):
            pct = Percentage.parse(p)
            store.change_flag(
                "x", partial(ops.set_percentage_of_actors, pct=pct), ALICE
            )
        assert store.verify_audit().ok
        yield store
        store.engine.dispose()


def _exec(store: SqlFlagStore, sql: str, **params: object) -> None:
    with store.engine.begin() as conn:
        conn.execute(sa.text(sql), params)


def _rows(store: SqlFlagStore) -> list[dict[str, object]]:
    with store.engine.connect() as conn:
        query = "SELECT * FROM audit_log ORDER BY id"
        return [dict(r) for r in conn.execute(sa.text(query)).mappings()]


def _row_ids(store: SqlFlagStore) -> list[int | None]:
    return [p.row_id for p in store.verify_audit().problems]


@pytest.mark.parametrize("row", [1, 3, 5])
def test_editing_a_rows_document_names_that_row_first(
    store: SqlFlagStore, row: int
) -> None:
    _exec(
        store,
        "UPDATE audit_log SET after = :doc WHERE id = :id",
        doc='{"key":"x","gates":{"boolean":"true"}}',
        id=row,
    )
    problems = store.verify_audit().problems
    assert problems[0].row_id == row
    assert str(problems[0]) == f"audit row {row}: its contents were edited"


@pytest.mark.parametrize("column", ["actor", "reason", "at", "action", "key_id"])
def test_editing_any_field_shows(store: SqlFlagStore, column: str) -> None:
    _exec(store, f"UPDATE audit_log SET {column} = 'mallory' WHERE id = 2")
    assert _row_ids(store) == [2]


def test_deleting_a_row_in_the_middle_names_the_next_row(store: SqlFlagStore) -> None:
    _exec(store, "DELETE FROM audit_log WHERE id = 3")
    problems = store.verify_audit().problems
    assert problems[0].row_id == 4
    assert "deleted or re-ordered" in problems[0].detail


def test_cutting_rows_off_the_end_shows(store: SqlFlagStore) -> None:
    _exec(store, "DELETE FROM audit_log WHERE id >= 4")
    details = [str(p) for p in store.verify_audit().problems]
    assert any("cut off the end" in d for d in details)
    # The flag is still at 50 %, which its shortened history does not say.
    assert any(d.startswith("flag 'x' in 'production': differs") for d in details)


@pytest.mark.parametrize("forgery", ["keyed with a guessed key", "unkeyed"])
def test_rewriting_history_and_recomputing_every_hash_is_found(
    store: SqlFlagStore, forgery: str
) -> None:
    # The attack of issue 18: edit a row, recompute every later hash and the
    # head. Without the key the recomputed hashes cannot be right.
    rows = _rows(store)
    prev = str(rows[1]["prev_hash"])
    for row in rows[1:]:
        content = {**row, "actor": "mallory"} if row["id"] == 2 else row
        if forgery == "unkeyed":
            digest, key_id = legacy_hash(prev, content), None
        else:
            digest = keyed_hash(b"guess" * 8, str(row["key_id"]), prev, content)
            key_id = str(row["key_id"])
        _exec(
            store,
            "UPDATE audit_log SET actor = :actor, prev_hash = :prev, hash = :hash, "
            "key_id = :key_id WHERE id = :id",
            actor=content["actor"],
            prev=prev,
            hash=digest,
            key_id=key_id,
            id=row["id"],
        )
        prev = digest
    key = store.engine.dialect.identifier_preparer.quote("key")
    _exec(
        store,
        f"UPDATE store_meta SET text_value = :h WHERE {key} = 'audit_head'",
        h=prev,
    )
    problems = store.verify_audit().problems
    assert problems and problems[0].row_id == 2
    expected = "edited" if forgery != "unkeyed" else "comes after keyed rows"
    assert any(expected in p.detail for p in problems)


def test_editing_a_flag_directly_is_named_with_its_first_difference(
    store: SqlFlagStore,
) -> None:
    with store.engine.begin() as conn:
        state = conn.execute(sa.text("SELECT state FROM flags")).scalar_one()
        conn.execute(
            sa.text("UPDATE flags SET state = :s"),
            {"s": state.replace('"boolean":null', '"boolean":"true"')},
        )
    assert store.require_flag("x").state == "on"
    [problem] = store.verify_audit().problems
    assert str(problem) == (
        "flag 'x' in 'production': differs from its audit history (row 5): "
        'gates.boolean is "true" in the store, null in the history'
    )


def test_flags_added_or_removed_outside_the_log_are_named(
    store: SqlFlagStore,
) -> None:
    _exec(store, "DELETE FROM flags")
    store.put_segment(Segment.from_rules("s", ["a == b"]), ALICE)
    _exec(store, "UPDATE segments SET name = 'sneaky'")
    details = sorted(str(p) for p in store.verify_audit().problems)
    assert details == [
        "flag 'x' in 'production': is missing, but its audit history (row 5) "
        "says it exists",
        "segment 's' in 'production': is missing, but its audit history (row 6) "
        "says it exists",
        "segment 'sneaky' in 'production': has no audit history (written outside it)",
    ]


def test_without_the_key_verify_says_what_it_cannot_detect(
    store: SqlFlagStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(KEY_FILE_ENV, str(tmp_path / "elsewhere" / "no-key"))
    elsewhere = SqlFlagStore.open(store.engine.url.render_as_string(False))
    report = elsewhere.verify_audit()
    assert report.ok
    [limit] = report.limits
    assert limit.startswith(
        f"5 row(s) (rows 1–5) are signed with key {report.key_ids[0]}"
    )
    assert "could have rewritten them consistently" in limit
    assert not (tmp_path / "elsewhere").exists()  # verifying creates no key
    # The replay still catches a flag edited in place.
    _exec(store, "UPDATE flags SET state = REPLACE(state, '\"50\"', '\"100\"')")
    assert [p.subject for p in elsewhere.verify_audit().problems] == [
        "flag 'x' in 'production'"
    ]
    elsewhere.engine.dispose()


def test_rotated_keys_verify_old_and_new_rows(store: SqlFlagStore) -> None:
    old = store.keyring.key_ids()[-1]
    new = store.keyring.rotate()
    store.change_flag("x", ops.enable, ALICE)
    rows = _rows(store)
    assert [r["key_id"] for r in rows] == [old] * 5 + [new]
    report = store.verify_audit()
    assert (report.ok, report.key_ids, report.limits) == (True, (old, new), ())
    # A keyring that lost the old key cannot vouch for the old rows: it fails,
    # as it must, or relabelling a row's key id would dodge the check.
    assert store.keyring.path is not None
    store.keyring.path.write_text(store.keyring.signing_key()[1].hex() + "\n")
    problems = store.verify_audit().problems
    assert [p.row_id for p in problems] == [1, 2, 3, 4, 5]
    assert f"is signed with key {old}, which" in problems[0].detail


def test_verify_reads_one_snapshot_while_others_write(store: SqlFlagStore) -> None:
    done = threading.Event()
    errors: list[BaseException] = []

    def writer() -> None:
        try:
            for n in range(40):
                pct = Percentage.parse(str(n % 100))
                store.change_flag(
                    "x", partial(ops.set_percentage_of_actors, pct=pct), ALICE
                )
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            done.set()

    thread = threading.Thread(target=writer)
    thread.start()
    reports = []
    while not done.is_set():
        reports.append(store.verify_audit())
    thread.join()
    assert errors == []
    assert len(reports) >= 1
    assert [r.problems for r in reports if not r.ok] == []
    assert store.verify_audit().rows == 5 + 40


def test_a_binary_value_in_a_row_is_named_not_a_crash(tmp_path: Path) -> None:
    # Only SQLite lets bytes into a text column; the others refuse them.
    store = SqlFlagStore.open(f"sqlite:///{tmp_path / 'binary.db'}")
    store.create_flag(Flag("x"), ALICE)
    store.create_flag(Flag("y"), ALICE)
    _exec(store, "UPDATE audit_log SET actor = X'00ff' WHERE id = 1")
    _exec(store, "UPDATE flags SET state = X'ff' WHERE key = 'y'")
    details = [str(p) for p in store.verify_audit().problems]
    assert details[0] == "audit row 1: column actor holds binary data, not text"
    assert (
        "flag 'y' in 'production': its stored column document holds binary data, "
        "not text"
    ) in details
    with pytest.raises(StoreError, match="flag 'y' in 'production': the stored doc"):
        store.get_flag("y")
    with pytest.raises(StoreError, match="audit row 1: column actor holds binary"):
        store.audit_entries()


def test_the_key_file_is_made_on_the_first_write_readable_by_its_owner_only(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    store = SqlFlagStore.open(url)
    key_file = tmp_path / "fresh.db.audit-key"
    store.list_flags()
    store.verify_audit()
    assert not key_file.exists()
    store.create_flag(Flag("x"), ALICE)
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert AuditKeyring.from_file(key_file).key_ids() == store.keyring.key_ids()
