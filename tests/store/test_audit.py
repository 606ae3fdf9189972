"""The audit chain finds an edited, deleted, re-ordered or cut-off row, and names it."""

from __future__ import annotations

from functools import partial

import pytest
import sqlalchemy as sa

from flagramp.core.flags import Flag, Percentage
from flagramp.core.flags import operations as ops
from flagramp.store import Author, FlagStore

ALICE = Author("alice@va.gov", "test")


@pytest.fixture
def store(database_url: str) -> FlagStore:
    store = FlagStore.open(database_url)
    store.create_flag(Flag("x"), ALICE)
    for p in ("5", "10", "25", "50"):
        pct = Percentage.parse(p)
        store.change_flag("x", partial(ops.set_percentage_of_actors, pct=pct), ALICE)
    assert store.verify_audit() == []
    return store


def _exec(store: FlagStore, sql: str, **params: object) -> None:
    with store.engine.begin() as conn:
        conn.execute(sa.text(sql), params)


@pytest.mark.parametrize("column", ["before", "after"])
@pytest.mark.parametrize("row", [1, 3, 5])
def test_editing_a_rows_json_names_that_row(
    store: FlagStore, column: str, row: int
) -> None:
    _exec(
        store,
        f"UPDATE audit_log SET {column} = :doc WHERE id = :id",
        doc='{"key":"x","gates":{"boolean":"true"}}',
        id=row,
    )
    problems = store.verify_audit()
    assert [p.row_id for p in problems] == [row]
    assert "edited" in str(problems[0])
    assert str(problems[0]).startswith(f"audit row {row}:")


@pytest.mark.parametrize("column", ["actor", "reason", "at", "action"])
def test_editing_any_field_shows(store: FlagStore, column: str) -> None:
    _exec(store, f"UPDATE audit_log SET {column} = 'mallory' WHERE id = 2")
    assert [p.row_id for p in store.verify_audit()] == [2]


def test_deleting_a_row_in_the_middle_names_the_next_row(store: FlagStore) -> None:
    _exec(store, "DELETE FROM audit_log WHERE id = 3")
    problems = store.verify_audit()
    assert problems[0].row_id == 4
    assert "deleted or re-ordered" in problems[0].detail


def test_cutting_rows_off_the_end_shows(store: FlagStore) -> None:
    _exec(store, "DELETE FROM audit_log WHERE id >= 4")
    problems = store.verify_audit()
    assert [p.row_id for p in problems] == [None]
    assert "cut off the end" in problems[0].detail


def test_rewriting_a_row_with_a_fresh_hash_still_breaks_the_next(
    store: FlagStore,
) -> None:
    from flagramp.store.audit import row_hash

    with store.engine.begin() as conn:
        row = (
            conn.execute(sa.text("SELECT * FROM audit_log WHERE id = 2"))
            .mappings()
            .one()
        )
        forged = row_hash(row["prev_hash"], {**row, "actor": "mallory"})
        conn.execute(
            sa.text("UPDATE audit_log SET actor='mallory', hash=:h WHERE id=2"),
            {"h": forged},
        )
    assert [p.row_id for p in store.verify_audit()] == [3]
