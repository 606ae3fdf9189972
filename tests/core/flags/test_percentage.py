from __future__ import annotations

import pytest

from flagramp.core.errors import InvalidPercentage
from flagramp.core.flags import Percentage
from flagramp.core.flags.ruby import (
    ruby_float_to_s,
    ruby_to_f,
    ruby_to_i,
    ruby_to_number,
)


@pytest.mark.parametrize(
    ("raw", "text", "value"),
    [
        ("25", "25", 25.0),
        ("12.5", "12.5", 12.5),
        ("25.0", "25.0", 25.0),  # Flipper keeps "25.0" as written
        (12.5, "12.5", 12.5),
        (25, "25", 25.0),
        (25.0, "25.0", 25.0),
        ("33.333", "33.333", 33.333),
        ("0", "0", 0.0),
        ("100", "100", 100.0),
        (" 7 ", "7", 7.0),
    ],
)
def test_parse_keeps_rubys_text(raw: object, text: str, value: float) -> None:
    pct = Percentage.parse(raw)
    assert (pct.text, pct.value) == (text, value)


@pytest.mark.parametrize(
    "raw",
    [
        "101",
        "-1",
        "100.001",
        "1.2345",
        "abc",
        "25abc",
        "",
        "1e2",
        None,
        True,
        float("nan"),
        float("inf"),
        [25],
    ],
)
def test_parse_refuses_what_is_not_a_percentage(raw: object) -> None:
    with pytest.raises(InvalidPercentage):
        Percentage.parse(raw)


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("25", 25),
        ("12.5", 12.5),
        ("25abc", 25),
        ("1e2", 1),
        ("1.5e2", 150.0),
        ("abc", 0),
        (".5", 0.5),
        ("-3", -3),
        ("1_000", 1000),
    ],
)
def test_flipper_reads_numbers_like_ruby(text: str, number: float) -> None:
    got = ruby_to_number(text)
    assert got == number and type(got) is type(number)


def test_ruby_conversions() -> None:
    assert ruby_to_i("  42abc") == 42
    assert ruby_to_f("3.25xyz") == 3.25
    assert ruby_to_f("x") == 0.0
    assert [ruby_float_to_s(v) for v in (25.0, 12.5, 1e20, 1e-05, 0.1)] == [
        "25.0",
        "12.5",
        "1.0e+20",
        "1.0e-05",
        "0.1",
    ]


def test_from_flipper_is_lenient_like_typecast() -> None:
    assert Percentage.from_flipper("25abc").value == 25
    assert Percentage.from_flipper(12.5).text == "12.5"
    assert Percentage.from_flipper(25).text == "25"
