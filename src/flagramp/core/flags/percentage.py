"""Percentages as Flipper stores them: a number kept in Ruby's `to_s` form.

Flipper keeps gate values as strings (`"25"`, `"12.5"`, `"25.0"`), so an export
round-trips only if the exact text survives. `Percentage` keeps both the text and
the number.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from flagramp.core.errors import InvalidPercentage
from flagramp.core.flags.ruby import ruby_float_to_s, ruby_to_number, ruby_to_s

_PLAIN_NUMBER = re.compile(r"^[ \t]*[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)[ \t]*$")


@dataclass(frozen=True, slots=True)
class Percentage:
    """A share of 0–100 with at most three decimals; `text` is Flipper's form."""

    text: str
    value: float

    @classmethod
    def parse(cls, raw: object) -> Percentage:
        """Read a percentage from CLI/API input (strictly) and keep Ruby's text.

        Raises InvalidPercentage for anything that is not a plain number in 0..100
        with at most three decimals: flagramp refuses `"25abc"` even though Ruby
        would read it as 25, because a typo must not change a rollout.
        """
        if isinstance(raw, bool) or raw is None:
            raise InvalidPercentage(raw)
        if isinstance(raw, int | float):
            if not math.isfinite(raw):
                raise InvalidPercentage(raw)
            text = str(raw) if isinstance(raw, int) else ruby_float_to_s(raw)
        elif isinstance(raw, str) and _PLAIN_NUMBER.match(raw):
            number = ruby_to_number(raw.strip())
            text = str(number) if isinstance(number, int) else ruby_float_to_s(number)
        else:
            raise InvalidPercentage(raw)
        try:
            exact = Decimal(text)
        except InvalidOperation as exc:  # pragma: no cover - text is a number
            raise InvalidPercentage(raw) from exc
        exponent = exact.as_tuple().exponent
        if not (0 <= exact <= 100) or (isinstance(exponent, int) and exponent < -3):
            raise InvalidPercentage(raw)
        return cls(text=text, value=float(exact))

    @classmethod
    def from_flipper(cls, raw: object) -> Percentage:
        """Read a value Flipper stored, leniently, exactly as Ruby's Typecast does."""
        text = raw if isinstance(raw, str) else ruby_to_s(raw)
        number = ruby_to_number(text)
        return cls(text=text, value=float(number))

    @property
    def threshold(self) -> float:
        """The bucket bound: an actor is in when `bucket < threshold`."""
        # IEEE double multiply, exactly as Ruby's `percentage * 1_000`.
        return self.value * 1_000

    @property
    def is_zero(self) -> bool:
        return self.value <= 0

    def __str__(self) -> str:
        return f"{self.text}%"


ZERO = Percentage("0", 0.0)
