"""Column values as JSON, exactly, whatever database they came from.

A backup names each column's kind (`integer`, `text`, `binary`, …) and writes
values as JSON that the kind reads back to the same Python value: integers of
any size as JSON integers (never through a float), text as JSON strings
(non-ASCII as is), binary as base64, decimals and times as text. What a column's
SQLAlchemy type is on each backend (BIGINT, LONGTEXT, BYTEA, LONGBLOB,
TINYINT(1)) does not matter: the kind comes from the type flagramp declares.

Pure: no database, no files.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import decimal
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    Integer,
    LargeBinary,
    Numeric,
    String,
    Table,
    Time,
)
from sqlalchemy.types import TypeEngine

from flagramp.core.errors import BackupError


class ColumnKind(StrEnum):
    """How a column's values are written in a backup."""

    INTEGER = "integer"
    BOOLEAN = "boolean"
    TEXT = "text"
    BINARY = "binary"
    FLOAT = "float"
    DECIMAL = "decimal"
    DATETIME = "datetime"
    DATE = "date"
    TIME = "time"


# Order matters: Float is a Numeric, Boolean is checked before Integer.
_KINDS: tuple[tuple[type[TypeEngine[Any]], ColumnKind], ...] = (
    (Boolean, ColumnKind.BOOLEAN),
    (Integer, ColumnKind.INTEGER),
    (Float, ColumnKind.FLOAT),
    (Numeric, ColumnKind.DECIMAL),
    (DateTime, ColumnKind.DATETIME),
    (Date, ColumnKind.DATE),
    (Time, ColumnKind.TIME),
    (LargeBinary, ColumnKind.BINARY),
    (String, ColumnKind.TEXT),
)


def column_kind(table: str, column: Column[Any]) -> ColumnKind:
    """The kind a backup writes `column` as; raises BackupError for a type it
    cannot carry exactly (JSON columns: NULL and JSON null would be one)."""
    kind_of = column.type
    if not isinstance(kind_of, JSON):
        for sql_type, kind in _KINDS:
            if isinstance(kind_of, sql_type):
                return kind
    raise BackupError(
        f"column {table}.{column.name} has type {kind_of!r}, which a backup "
        "cannot carry exactly"
    )


@dataclass(frozen=True, slots=True)
class ColumnSpec:
    """A column as a backup describes it."""

    name: str
    kind: ColumnKind
    nullable: bool


@dataclass(frozen=True, slots=True)
class TableSpec:
    """A table as a backup describes it: its name and columns, in order."""

    name: str
    columns: tuple[ColumnSpec, ...]

    @classmethod
    def of(cls, table: Table) -> TableSpec:
        """The spec of a SQLAlchemy table."""
        return cls(
            table.name,
            tuple(
                ColumnSpec(c.name, column_kind(table.name, c), bool(c.nullable))
                for c in table.columns
            ),
        )

    def column_names(self) -> tuple[str, ...]:
        """The names of its columns, in order."""
        return tuple(c.name for c in self.columns)

    def to_json(self) -> list[list[object]]:
        """[[name, kind, nullable], …] for the manifest."""
        return [[c.name, c.kind.value, c.nullable] for c in self.columns]

    @classmethod
    def from_json(cls, name: str, columns: object) -> TableSpec:
        """Read `to_json`; raises ValueError with what is wrong."""
        if not isinstance(columns, list) or not columns:
            raise ValueError(f"table {name}: no columns")
        specs = []
        for entry in columns:
            if not (
                isinstance(entry, list)
                and len(entry) == 3
                and isinstance(entry[0], str)
                and isinstance(entry[1], str)
                and entry[1] in ColumnKind._value2member_map_
                and isinstance(entry[2], bool)
            ):
                raise ValueError(f"table {name}: a column entry is malformed")
            specs.append(ColumnSpec(entry[0], ColumnKind(entry[1]), entry[2]))
        return cls(name, tuple(specs))


def encode_row(spec: TableSpec, row: Sequence[object]) -> bytes:
    """One JSON line (with its newline) holding `row`'s values in column order;
    raises BackupError naming the column of a value its kind cannot hold (a
    damaged row: binary data in a text column, say)."""
    values: list[object] = []
    for column, value in zip(spec.columns, row, strict=True):
        try:
            values.append(None if value is None else _ENCODERS[column.kind](value))
        except TypeError:
            raise BackupError(
                f"a row of {spec.name} holds {_what(value)} in its "
                f"{column.kind.value} column {column.name} (a damaged row)"
            ) from None
    text = json.dumps(values, ensure_ascii=False, separators=(",", ":"))
    try:
        return text.encode() + b"\n"
    except UnicodeEncodeError as exc:  # an unpaired surrogate, read from SQLite
        raise BackupError(
            f"a row of {spec.name} holds text that is not Unicode (a damaged row)"
        ) from exc


def _what(value: object) -> str:
    if isinstance(value, bytes | bytearray | memoryview):
        return "binary data"
    return f"a {type(value).__name__} value"


def decode_row(spec: TableSpec, line: bytes) -> tuple[object, ...]:
    """The values of one line written by `encode_row`; raises ValueError saying
    which column holds what it cannot."""
    try:
        values = json.loads(line)
    except (ValueError, RecursionError) as exc:
        raise ValueError("a row is not JSON") from exc
    if not isinstance(values, list) or len(values) != len(spec.columns):
        raise ValueError(f"a row does not hold the {len(spec.columns)} columns")
    decoded: list[object] = []
    for column, value in zip(spec.columns, values, strict=True):
        if value is None:
            if not column.nullable:
                raise ValueError(f"column {column.name} is empty but may not be")
            decoded.append(None)
            continue
        try:
            decoded.append(_DECODERS[column.kind](value))
        except (TypeError, ValueError, ArithmeticError, binascii.Error) as exc:
            raise ValueError(
                f"column {column.name} holds no {column.kind.value} value"
            ) from exc
    return tuple(decoded)


def _encode_integer(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(value)
    return value


def _encode_boolean(value: object) -> bool:
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    raise TypeError(value)


def _encode_text(value: object) -> str:
    if not isinstance(value, str):
        raise TypeError(value)
    return value


def _encode_binary(value: object) -> str:
    if not isinstance(value, bytes | bytearray | memoryview):
        raise TypeError(value)
    return base64.b64encode(bytes(value)).decode("ascii")


def _encode_float(value: object) -> float:
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise TypeError(value)
    return float(value)


def _encode_iso(value: object) -> str:
    if not isinstance(value, dt.date | dt.time):
        raise TypeError(value)
    return value.isoformat()


def _encode_decimal(value: object) -> str:
    if not isinstance(value, decimal.Decimal | int) or isinstance(value, bool):
        raise TypeError(value)
    return str(value)


def _decode_integer(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(value)
    return value


def _decode_boolean(value: object) -> bool:
    if not isinstance(value, bool):
        raise TypeError(value)
    return value


def _decode_text(value: object) -> str:
    if not isinstance(value, str):
        raise TypeError(value)
    return value


def _decode_binary(value: object) -> bytes:
    return base64.b64decode(_decode_text(value), validate=True)


def _decode_float(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(value)
    return float(value)


def _decode_decimal(value: object) -> decimal.Decimal:
    return decimal.Decimal(_decode_text(value))


def _decode_datetime(value: object) -> dt.datetime:
    return dt.datetime.fromisoformat(_decode_text(value))


def _decode_date(value: object) -> dt.date:
    return dt.date.fromisoformat(_decode_text(value))


def _decode_time(value: object) -> dt.time:
    return dt.time.fromisoformat(_decode_text(value))


_ENCODERS: dict[ColumnKind, Callable[[object], object]] = {
    ColumnKind.INTEGER: _encode_integer,
    ColumnKind.BOOLEAN: _encode_boolean,
    ColumnKind.TEXT: _encode_text,
    ColumnKind.BINARY: _encode_binary,
    ColumnKind.FLOAT: _encode_float,
    ColumnKind.DECIMAL: _encode_decimal,
    ColumnKind.DATETIME: _encode_iso,
    ColumnKind.DATE: _encode_iso,
    ColumnKind.TIME: _encode_iso,
}
_DECODERS: dict[ColumnKind, Callable[[object], object]] = {
    ColumnKind.INTEGER: _decode_integer,
    ColumnKind.BOOLEAN: _decode_boolean,
    ColumnKind.TEXT: _decode_text,
    ColumnKind.BINARY: _decode_binary,
    ColumnKind.FLOAT: _decode_float,
    ColumnKind.DECIMAL: _decode_decimal,
    ColumnKind.DATETIME: _decode_datetime,
    ColumnKind.DATE: _decode_date,
    ColumnKind.TIME: _decode_time,
}
