"""Percentage string forms and Ruby's number conversions, against Ruby itself.

Flipper 0.25 reads a percentage with `Typecast.to_percentage` (`to_s` contains
`.` → `to_f`, else `to_i`), validates it in `Types::Percentage` (0..100) and stores
`value.to_s`. flagramp reproduces these with `ruby_to_number`, `ruby_to_i`,
`ruby_to_f`, `ruby_float_to_s`, `Percentage.from_flipper` (lenient, for stored
values) and `Percentage.parse` (strict, for people's input).
"""

from __future__ import annotations

from typing import Any

import pytest

from flagramp.core.errors import InvalidPercentage
from flagramp.core.flags import Percentage
from flagramp.core.flags.ruby import (
    ruby_float_to_s,
    ruby_to_f,
    ruby_to_i,
    ruby_to_number,
)
from tests.compat.ruby_peer import RubyPeer


def cases(values: list[Any]) -> list[Any]:
    """Parameters with readable ids (repr of the value)."""
    return [pytest.param(v, id=repr(v)) for v in values]


PERCENTAGE_INPUTS: list[Any] = [
    "25",
    "12.5",
    "25.0",
    12.5,
    25,
    25.0,
    "1e2",
    1e2,
    "25abc",
    "0",
    "0.001",
    0.001,
    "33.333",
    "99.999",
    "100",
    "100.0",
    "100.5",
    "101",
    "-1",
    " 25",
    "+25",
    ".5",
    "5.",
    "1.5e1",
    "abc",
    "",
    "12.5.3",
    "1_0",
    "0x1A",
    "-0.0",
    "1__0",
    "١٢",
]


@pytest.fixture(scope="module")
def ruby_typecasts(ruby: RubyPeer) -> dict[str, dict[str, Any]]:
    inputs = PERCENTAGE_INPUTS
    results = ruby.call("typecast", inputs=inputs)["results"]
    return {repr(v): r for v, r in zip(inputs, results, strict=True)}


def flagramp_to_percentage(value: str | int | float) -> int | float:
    """Typecast.to_percentage from flagramp's parts: a number goes through to_s."""
    if isinstance(value, int):
        return value
    text = value if isinstance(value, str) else ruby_float_to_s(value)
    return ruby_to_number(text)


def ruby_class_and_text(number: int | float) -> tuple[str, str]:
    if isinstance(number, int):
        return "Integer", str(number)
    return "Float", ruby_float_to_s(number)


@pytest.mark.parametrize(
    "value",
    cases(PERCENTAGE_INPUTS),
)
def test_to_percentage_type_and_text_match_ruby(
    ruby_typecasts: dict[str, dict[str, Any]], value: Any
) -> None:
    theirs = ruby_typecasts[repr(value)]
    ours = ruby_class_and_text(flagramp_to_percentage(value))
    assert ours == (theirs["class"], theirs["to_s"])


@pytest.mark.parametrize("value", cases(PERCENTAGE_INPUTS))
def test_reading_rubys_stored_text_gives_rubys_number(
    ruby_typecasts: dict[str, dict[str, Any]], value: Any
) -> None:
    stored = ruby_typecasts[repr(value)]["to_s"]
    pct = Percentage.from_flipper(stored)
    assert pct.text == stored
    assert ruby_class_and_text(ruby_to_number(stored)) == (
        ruby_typecasts[repr(value)]["class"],
        stored,
    )


@pytest.mark.parametrize("value", cases(PERCENTAGE_INPUTS))
def test_strict_parse_never_stores_other_text_than_ruby(
    ruby_typecasts: dict[str, dict[str, Any]], value: Any
) -> None:
    # flagramp may refuse what Ruby accepts leniently ("25abc", "1e2"), but whatever
    # it accepts must be stored as Ruby stores it, and what Ruby refuses is refused.
    theirs = ruby_typecasts[repr(value)]
    try:
        text = Percentage.parse(value).text
    except InvalidPercentage:
        return
    assert theirs["valid"], f"Ruby refuses {value!r}, flagramp stores {text!r}"
    assert text == theirs["to_s"]


def test_ruby_refuses_out_of_range_and_flagramp_too(
    ruby_typecasts: dict[str, dict[str, Any]],
) -> None:
    refused = [
        v for v in ("100.5", "101", "-1") if not ruby_typecasts[repr(v)]["valid"]
    ]
    assert refused == ["100.5", "101", "-1"]
    for value in refused:
        with pytest.raises(InvalidPercentage):
            Percentage.parse(value)


FLOATS: list[Any] = [
    0.001,
    0.1 + 0.2,
    1 / 3,
    12.5,
    25.0,
    33.333,
    99.999,
    100.0,
    0.0001,
    0.00012,
    1e-05,
    1.5e-05,
    2.5e-07,
    99999999999999.9,
    123456789012345.0,
    1e16,
    1e20,
    1e100,
    5e-324,
    1.7976931348623157e308,
    -0.0,
    1e15,
    9007199254740992.0,
]


@pytest.fixture(scope="module")
def ruby_float_texts(ruby: RubyPeer) -> dict[str, str]:
    values = FLOATS
    results = ruby.call("float_to_s", values=values)["results"]
    return {repr(v): r for v, r in zip(values, results, strict=True)}


@pytest.mark.parametrize(
    "value",
    cases(FLOATS),
)
def test_float_to_s_matches_ruby(
    ruby_float_texts: dict[str, str], value: float
) -> None:
    assert ruby_float_to_s(value) == ruby_float_texts[repr(value)]


STRINGS: list[Any] = [
    "25",
    "12.5",
    "1e2",
    "1.5e+3abc",
    "1_000",
    "1_0.5",
    "1.2_3",
    ".5",
    "-.5",
    "5.",
    "1.e2",
    "1e",
    "1.5e",
    "1e+",
    "abc",
    "",
    "_1",
    "+5",
    "+-5",
    "\t7\n",
    "\n\v\f\r 3",
    "0x1A",
    "00012",
    "1e400",
    "9" * 30,
    "1__0",
    "1__0.5",
    "1e1_0",
    "١٢",
    "\u00a025",
    "\u300025",
    "-0.0",
]


@pytest.fixture(scope="module")
def ruby_numbers(ruby: RubyPeer) -> dict[str, dict[str, Any]]:
    inputs = STRINGS
    results = ruby.call("string_to_number", inputs=inputs)["results"]
    return {v: r for v, r in zip(inputs, results, strict=True)}


@pytest.mark.parametrize(
    "text",
    cases(STRINGS),
)
def test_to_i_and_to_f_match_ruby(
    ruby_numbers: dict[str, dict[str, Any]], text: str
) -> None:
    theirs = ruby_numbers[text]
    assert (ruby_to_i(text), ruby_float_to_s(ruby_to_f(text))) == (
        theirs["to_i"],
        theirs["to_f"],
    )
