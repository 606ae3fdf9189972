"""Column values through a backup line and back: the same value, exactly."""

from __future__ import annotations

import datetime as dt
import decimal
import math

import pytest
import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st

from flagramp.core.errors import BackupError
from flagramp.store.backup_codec import (
    ColumnKind,
    ColumnSpec,
    TableSpec,
    column_kind,
    decode_row,
    encode_row,
)
from flagramp.store.schema import flagramp_tables

ALL_KINDS = TableSpec(
    "every_kind",
    tuple(ColumnSpec(kind.value, kind, nullable=True) for kind in ColumnKind),
)

#: Text a database holds: no NUL (PostgreSQL refuses it), no unpaired surrogates.
texts = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00"))
values = st.tuples(
    st.integers(min_value=-(2**80), max_value=2**80) | st.none(),
    st.booleans() | st.none(),
    texts | st.none(),
    st.binary() | st.none(),
    st.floats(allow_nan=False) | st.none(),
    st.decimals(allow_nan=False, allow_infinity=False) | st.none(),
    st.datetimes(timezones=st.none() | st.just(dt.UTC)) | st.none(),
    st.dates() | st.none(),
    st.times() | st.none(),
)


@given(values)
def test_every_kind_round_trips_exactly(row: tuple[object, ...]) -> None:
    line = encode_row(ALL_KINDS, row)
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    assert decode_row(ALL_KINDS, line) == row


def test_float_edges_and_big_integers_keep_their_bits() -> None:
    row = (2**63 - 1, None, None, None, 5e-324, None, None, None, None)
    assert decode_row(ALL_KINDS, encode_row(ALL_KINDS, row)) == row
    [nan] = decode_row(
        TableSpec("t", (ColumnSpec("f", ColumnKind.FLOAT, False),)),
        encode_row(
            TableSpec("t", (ColumnSpec("f", ColumnKind.FLOAT, False),)), [math.nan]
        ),
    )
    assert isinstance(nan, float) and math.isnan(nan)


def test_every_column_of_flagramps_tables_has_a_kind() -> None:
    # A column type a backup cannot carry would refuse every backup.
    for table in flagramp_tables():
        for column in table.columns:
            assert column_kind(table.name, column) in ColumnKind


def test_a_json_column_is_refused_when_the_backup_is_made() -> None:
    table = sa.Table("t", sa.MetaData(), sa.Column("doc", sa.JSON))
    with pytest.raises(BackupError, match=r"column t\.doc has type JSON"):
        TableSpec.of(table)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (b"[1, true", "a row is not JSON"),
        (b'{"a": 1}', "a row does not hold the 3 columns"),
        (b"[1, true]", "a row does not hold the 3 columns"),
        (b'[true, true, "x"]', "column n holds no integer value"),
        (b'[1, 1, "x"]', "column b holds no boolean value"),
        (b"[1, true, 7]", "column t holds no text value"),
        (b"[null, true, null]", "column n is empty but may not be"),
    ],
)
def test_a_damaged_line_says_which_column(line: bytes, message: str) -> None:
    spec = TableSpec(
        "t",
        (
            ColumnSpec("n", ColumnKind.INTEGER, False),
            ColumnSpec("b", ColumnKind.BOOLEAN, False),
            ColumnSpec("t", ColumnKind.TEXT, True),
        ),
    )
    with pytest.raises(ValueError, match=message):
        decode_row(spec, line)


def test_binary_must_be_base64() -> None:
    spec = TableSpec("t", (ColumnSpec("b", ColumnKind.BINARY, False),))
    with pytest.raises(ValueError, match="column b holds no binary value"):
        decode_row(spec, b'["not base64!"]')


@pytest.mark.parametrize(
    ("kind", "value", "what"),
    [
        (ColumnKind.TEXT, b"\xff\xfe", "binary data in its text column c"),
        (ColumnKind.INTEGER, "12", "a str value in its integer column c"),
        (ColumnKind.BOOLEAN, 5, "a int value in its boolean column c"),
        (ColumnKind.DECIMAL, 1.5, "a float value in its decimal column c"),
    ],
)
def test_a_damaged_stored_value_is_named_by_table_and_column(
    kind: ColumnKind, value: object, what: str
) -> None:
    spec = TableSpec("audit_log", (ColumnSpec("c", kind, False),))
    with pytest.raises(BackupError) as refused:
        encode_row(spec, [value])
    assert str(refused.value) == f"a row of audit_log holds {what} (a damaged row)"


def test_decimals_keep_their_digits() -> None:
    spec = TableSpec("t", (ColumnSpec("d", ColumnKind.DECIMAL, False),))
    value = decimal.Decimal("12345678901234567890.000000001")
    assert decode_row(spec, encode_row(spec, [value])) == (value,)
