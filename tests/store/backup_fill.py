"""Stores with something in every flagramp table, and their contents to compare.

`populate` writes through the store as people do (flags, segments, environments,
history, a snapshot, a large window row); `fill_generic` then gives every table
that is still empty rows made from its column types alone, so a table added to
flagramp's metadata later is filled, backed up and compared without a change
here: big integers, binary with every byte value, text beyond ASCII.
"""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Sequence
from functools import partial
from typing import Any

import sqlalchemy as sa

from flagramp.core.flags import Flag, Percentage, Segment
from flagramp.core.flags import operations as ops
from flagramp.store import Author, SqlFlagStore
from flagramp.store.backups import create_backup
from flagramp.store.schema import flagramp_tables

ALICE = Author("alice@va.gov", "backup test")
#: Tables whose rows only the store's own writes may make: the audit chain and
#: the replay check them, so made-up rows would not verify.
WRITTEN_BY_THE_STORE = frozenset(
    {"store_meta", "audit_log", "flags", "segments", "environments"}
)
TEXT = "naïve café — 日本語 😀 \u00a0tab\tand\nnewline"


def populate(store: SqlFlagStore) -> None:
    """Flags, segments and history in two environments, a flag document past
    64 KB, a deleted flag, a run's record and an environment snapshot."""
    oracle = Segment.from_rules("oracle", ["ehr == 'oracle'"], "Oracle Health — ü")
    store.put_segment(oracle, ALICE)
    store.put_segment(oracle, ALICE, "qa")
    many = tuple(f"user-{i}@va.gov" for i in range(4_000))  # a document past 64 KB
    store.create_flag(Flag("vaos_requests", description=TEXT, actors=many), ALICE)
    store.create_flag(Flag("vaos_direct", eligibility="oracle"), ALICE, "qa")
    for pct in ("5", "25.125"):
        store.change_flag(
            "vaos_requests",
            partial(ops.set_percentage_of_actors, pct=Percentage.parse(pct)),
            ALICE,
        )
    store.create_flag(Flag("retired"), ALICE)
    store.delete_flag("retired", ALICE)
    with store.unit_of_work(Author("controller", "stage 2")) as unit:
        unit.record("production", "run", "vaos-2026-11", "advance", {"stage": 1}, {})
    create_backup(store, label="qa before promotion", author=ALICE, environment="qa")


def fill_generic(engine: sa.Engine, rows: int = 3) -> list[str]:
    """Rows made from column types in every empty table the store does not own;
    returns the tables filled."""
    filled: list[str] = []
    made: dict[str, list[dict[str, Any]]] = {}
    with engine.begin() as conn:
        for table in flagramp_tables():
            if table.name in WRITTEN_BY_THE_STORE:
                continue
            existing = conn.execute(sa.select(sa.func.count()).select_from(table))
            if existing.scalar_one():
                continue
            values = [_row(table, i, made) for i in range(rows)]
            conn.execute(table.insert(), values)
            made[table.name] = values
            filled.append(table.name)
    return filled


def contents(engine: sa.Engine) -> dict[str, list[tuple[object, ...]]]:
    """Every flagramp table's rows, sorted, values as Python compares them."""
    found: dict[str, list[tuple[object, ...]]] = {}
    with engine.connect() as conn:
        for table in flagramp_tables():
            rows = [
                tuple(_plain(v) for v in row) for row in conn.execute(table.select())
            ]
            found[table.name] = sorted(rows, key=repr)
    return found


def _row(
    table: sa.Table, index: int, made: dict[str, list[dict[str, Any]]]
) -> dict[str, Any]:
    row: dict[str, Any] = {}
    for column in table.columns:
        parent = _parent(column)
        if parent is not None:
            parents = made[parent.table.name]
            row[column.name] = parents[index % len(parents)][parent.name]
        elif column.nullable and not column.primary_key and index == 2:
            row[column.name] = None
        else:
            row[column.name] = _value(column, index)
    return row


def _parent(column: sa.Column[Any]) -> sa.Column[Any] | None:
    for key in column.foreign_keys:
        return key.column
    return None


def _value(column: sa.Column[Any], index: int) -> object:
    kind = column.type
    if isinstance(kind, sa.Boolean):
        return index % 2 == 0
    if isinstance(kind, sa.BigInteger):
        return (2**63 - 1, -(2**63), 2**53 + 1)[index % 3] - index // 3
    if isinstance(kind, sa.Integer):
        return (2**31 - 1, -(2**31), 7)[index % 3] - index // 3
    if isinstance(kind, sa.Float):
        return (0.1, -1.5e308, 5e-324)[index % 3]
    if isinstance(kind, sa.Numeric):
        return decimal.Decimal("12345.678") + index
    if isinstance(kind, sa.DateTime):
        return dt.datetime(2026, 11, 30, 22, 0, 0, 123456) + dt.timedelta(days=index)
    if isinstance(kind, sa.LargeBinary):
        # The first past 64 KB, which MySQL's BLOB would not hold.
        return bytes(range(256)) * (400 if index == 0 else index) + b"\x00"
    if isinstance(kind, sa.String):
        return _text(f"{index}-{column.name}-{TEXT}", kind.length)
    raise AssertionError(f"no generic value for {column} ({kind!r})")


def _text(text: str, length: int | None) -> str:
    return text if length is None else text[:length].rstrip()


def _plain(value: object) -> object:
    return bytes(value) if isinstance(value, memoryview | bytearray) else value


def audit_prefix(
    found: dict[str, list[tuple[object, ...]]], rows: int
) -> Sequence[tuple[object, ...]]:
    """The first `rows` audit rows (by id) of `contents`."""
    return sorted(found["audit_log"], key=lambda r: int(str(r[0])))[:rows]
