"""Durations as plans write them: `30m`, `1h`, `2d`, `1w`, `1mo`.

`m` is always minutes and `mo` is months (30 days), so `1m` never means a month.
A duration keeps the text it was written as, so a plan dumps back unchanged and a
diff reads `hold 1h → 2h`. A duration is at most two years (`MAX_SECONDS`): plans
hold stages for hours to weeks, and a bound keeps every date computed from a plan
(timelines, windows) inside the calendar.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import PydanticCustomError, core_schema

#: Seconds per unit. Rationale: a month is 30 days and a day 24 hours; plans
#: schedule watch periods, not calendar arithmetic.
UNITS: dict[str, int] = {
    "s": 1,
    "m": 60,
    "h": 3_600,
    "d": 86_400,
    "w": 7 * 86_400,
    "mo": 30 * 86_400,
}
#: The longest duration flagramp takes (in a plan, `--expires-in`): two years.
MAX_SECONDS = 730 * 86_400
_PART = r"(\d+(?:\.\d+)?)\s*(mo|s|m|h|d|w)"
_DURATION = re.compile(rf"^\s*(?:{_PART}\s*)+$")
_PARTS = re.compile(_PART)
PATTERN = r"^\s*(\d+(\.\d+)?\s*(mo|s|m|h|d|w)\s*)+$"
_LONG_NAMES = {"min": "m", "mins": "m", "hr": "h", "hrs": "h", "hour": "h",
               "hours": "h", "day": "d", "days": "d", "week": "w", "weeks": "w",
               "month": "mo", "months": "mo"}  # fmt: skip


@dataclass(frozen=True, slots=True, order=True)
class Duration:
    """A length of time written as `1h30m`; compares by its length."""

    seconds: int
    text: str

    @property
    def delta(self) -> dt.timedelta:
        """The duration as a timedelta."""
        return dt.timedelta(seconds=self.seconds)

    @property
    def hours(self) -> float:
        """The duration in hours."""
        return self.seconds / 3_600

    def __str__(self) -> str:
        return self.text

    @classmethod
    def parse(cls, text: str) -> Duration:
        """Read `30m`, `1h`, `2d`, `1w`, `1mo` or sums like `1h30m`.

        Raises ValueError with a hint when the text is not a duration.
        """
        if not _DURATION.match(text):
            raise ValueError(_hint_for(text))
        seconds = 0.0
        for amount, unit in _PARTS.findall(text):
            seconds += float(amount) * UNITS[unit]
        if seconds <= 0:
            raise ValueError("a duration must be longer than zero")
        if seconds > MAX_SECONDS:
            raise ValueError(
                f"{text.strip()!r} is over the longest duration, 2 years (730d)"
            )
        return cls(round(seconds), "".join(text.split()))

    @classmethod
    def of(cls, seconds: int) -> Duration:
        """The text for a number of seconds (`5400` → `1h30m`, `7200` → `2h`)."""
        for unit in ("mo", "w", "d", "h"):
            size = UNITS[unit]
            if seconds % size == 0 and seconds >= size:
                return cls(seconds, f"{seconds // size}{unit}")
        hours, rest = divmod(seconds, 3_600)
        minutes, secs = divmod(rest, 60)
        text = "".join(
            f"{n}{u}" for n, u in ((hours, "h"), (minutes, "m"), (secs, "s")) if n
        )
        return cls(seconds, text or "0s")

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_plain_validator_function(
            _validate,
            serialization=core_schema.plain_serializer_function_ser_schema(
                lambda d: d.text, when_used="always"
            ),
        )

    @classmethod
    def __get_pydantic_json_schema__(
        cls, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return {
            "type": "string",
            "pattern": PATTERN,
            "description": "30m, 1h, 2d, 1w, 1mo (m is minutes, mo is months)",
            "examples": ["30m", "2h", "1w"],
        }


def _validate(value: object) -> Duration:
    if isinstance(value, Duration):
        return value
    if not isinstance(value, str):
        raise PydanticCustomError(
            "duration",
            "{value} is not a duration; write it with a unit, like 2h or 30m",
            {"value": value},
        )
    try:
        return Duration.parse(value)
    except ValueError as exc:
        raise PydanticCustomError("duration", str(exc)) from None


def _hint_for(text: str) -> str:
    match = re.match(r"^\s*(\d+(?:\.\d+)?)\s*([A-Za-z]+)\s*$", text)
    if match and match[2].lower() in _LONG_NAMES:
        unit = _LONG_NAMES[match[2].lower()]
        return f"{text!r} is not a duration; write {match[1]}{unit}"
    return (
        f"{text!r} is not a duration; use a number and a unit: 30m, 2h, 1d, 1w or 1mo"
    )
