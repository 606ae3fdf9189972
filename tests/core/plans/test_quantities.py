"""Durations and percentages as plans write them."""

from __future__ import annotations

import pytest
from pydantic import TypeAdapter, ValidationError

from flagramp.core.plans import Duration, PercentOfUsers


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("30m", 1_800),
        ("1h", 3_600),
        ("2d", 172_800),
        ("1w", 604_800),
        ("1mo", 2_592_000),
        ("1h30m", 5_400),
        ("90s", 90),
        ("1.5h", 5_400),
    ],
)
def test_duration_units(text: str, seconds: int) -> None:
    assert Duration.parse(text).seconds == seconds


def test_m_is_always_minutes_never_months() -> None:
    assert Duration.parse("1m").seconds == 60
    assert Duration.parse("1mo").seconds == 30 * 86_400


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("1 hour", "'1 hour' is not a duration; write 1h"),
        ("2 days", "'2 days' is not a duration; write 2d"),
        (
            "3x",
            "'3x' is not a duration; use a number and a unit: 30m, 2h, 1d, 1w or 1mo",
        ),
        ("0m", "a duration must be longer than zero"),
    ],
)
def test_bad_durations_say_how_to_fix(text: str, message: str) -> None:
    with pytest.raises(ValueError, match="^" + message.replace("(", r"\(")):
        Duration.parse(text)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(7_200, "2h"), (5_400, "1h30m"), (86_400, "1d"), (90, "1m30s")],
)
def test_duration_of_seconds(seconds: int, text: str) -> None:
    assert Duration.of(seconds).text == text


def test_duration_dumps_as_written() -> None:
    adapter = TypeAdapter(Duration)
    assert adapter.dump_python(adapter.validate_python("1h30m"), mode="json") == "1h30m"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (5, 5.0),
        ("25%", 25.0),
        (" 12.5 % ", 12.5),
        (0.125, 0.125),
        (0, 0.0),
        (100, 100.0),
    ],
)
def test_percentages(value: object, expected: float) -> None:
    assert TypeAdapter(PercentOfUsers).validate_python(value) == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (120, "120 is above 100"),
        (-0.5, "-0.5 is below 0"),
        (1.2345, "1.2345 has more than 3 decimals"),
        ("lots", "'lots' is not a percentage; write a number from 0 to 100"),
        (True, "true is not a percentage"),
    ],
)
def test_bad_percentages(value: object, message: str) -> None:
    with pytest.raises(ValidationError) as caught:
        TypeAdapter(PercentOfUsers).validate_python(value)
    assert caught.value.errors()[0]["msg"] == message
