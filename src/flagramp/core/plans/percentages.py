"""Percentages as plans write them: `5`, `12.5`, `0.125` or `"25%"`.

A percentage is a share of users from 0 to 100 with at most three decimals,
matching the flag store's bucketing (`percentage * 1_000` buckets of 100_000).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BeforeValidator, Field
from pydantic_core import PydanticCustomError


def parse_percentage(value: object) -> float:
    """Read a percentage; raises a pydantic error naming what is wrong."""
    number = _number(value)
    if number < 0:
        raise PydanticCustomError(
            "percentage", "{value} is below 0", {"value": show_number(number)}
        )
    if number > 100:
        raise PydanticCustomError(
            "percentage", "{value} is above 100", {"value": show_number(number)}
        )
    if abs(number * 1000 - round(number * 1000)) > 1e-6:
        raise PydanticCustomError(
            "percentage",
            "{value} has more than 3 decimals",
            {"value": show_number(number)},
        )
    return round(number, 3)


def show_number(number: float) -> str:
    """`120.0` → `120`, `12.5` → `12.5`: numbers as people write them."""
    return f"{number:g}" if abs(number) < 1e15 else str(number)


def _number(value: object) -> float:
    if isinstance(value, bool):
        raise PydanticCustomError(
            "percentage", "{value} is not a percentage", {"value": str(value).lower()}
        )
    if isinstance(value, int | float):
        if value != value or value in (float("inf"), float("-inf")):
            raise PydanticCustomError("percentage", "a percentage must be finite")
        return float(value)
    if isinstance(value, str):
        text = value.strip().removesuffix("%").strip()
        try:
            return _number(float(text))
        except ValueError:
            pass
    raise PydanticCustomError(
        "percentage",
        "{value} is not a percentage; write a number from 0 to 100",
        {"value": repr(value)},
    )


#: A share of users, 0–100, at most 3 decimals. `"25%"` reads as 25.
PercentOfUsers = Annotated[
    float,
    BeforeValidator(
        parse_percentage,
        json_schema_input_type=Annotated[float, Field(ge=0, le=100)]
        | Annotated[str, Field(pattern=r"^\s*\d+(\.\d{1,3})?\s*%?\s*$")],
    ),
]
