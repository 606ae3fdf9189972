"""Ruby's conversions that Flipper's rules depend on, reproduced exactly.

Flipper reads gate values and expression arguments with Ruby's `to_i`, `to_f` and
`to_s`; a re-implementation that used Python's `int()`/`float()`/`str()` would
disagree on inputs such as `"25abc"` (25 in Ruby), `"1e2".to_i` (1) or `1.0.to_s`
(`"1.0"`).
"""

from __future__ import annotations

import math
import re
from decimal import Decimal

# Ruby skips ASCII white space only, reads ASCII digits only, and allows single
# underscores between digits ("1_000", but "1__0" stops at the first underscore).
_SPACE = r"[ \t\n\v\f\r]*"
_DIGITS = r"[0-9]+(?:_[0-9]+)*"
_TO_I = re.compile(rf"^{_SPACE}([+-]?{_DIGITS})")
_TO_F = re.compile(rf"^{_SPACE}([+-]?({_DIGITS})?(\.{_DIGITS})?([eE][+-]?{_DIGITS})?)")


def ruby_to_i(text: str) -> int:
    """Ruby's `String#to_i`: leading integer, else 0."""
    match = _TO_I.match(text)
    if match is None:
        return 0
    return int(match.group(1).replace("_", ""))


def ruby_to_f(text: str) -> float:
    """Ruby's `String#to_f`: leading float, else 0.0."""
    match = _TO_F.match(text)
    if match is None or (not match.group(2) and not match.group(3)):
        return 0.0
    body = match.group(1).replace("_", "")
    if match.group(2) is None and match.group(3):
        body = body.replace(".", "0.", 1)
    # A dangling exponent ("1e", "1.5e+") is not part of the match: Ruby ignores it.
    return float(body)


def ruby_to_number(text: str) -> int | float:
    """Flipper's `Typecast.to_number` for strings: `.` means float, else integer."""
    return ruby_to_f(text) if "." in text else ruby_to_i(text)


def ruby_float_to_s(value: float) -> str:
    """Ruby's `Float#to_s`: `25.0`, `12.5`, `1.0e+15`, `1.0e-05`, `-0.0`.

    From the shortest round-trip digits (as Ruby uses): fixed notation while the
    decimal point sits within 16 digits (15 for a float with no fraction), and
    from 0.0001 up; exponent form outside that. Checked against Ruby 3.1.
    """
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    sign = "-" if math.copysign(1.0, value) < 0 else ""
    if value == 0:
        return f"{sign}0.0"
    _, digit_tuple, exponent = Decimal(repr(abs(value))).as_tuple()
    assert isinstance(exponent, int)
    digits = "".join(map(str, digit_tuple)).rstrip("0") or "0"
    point = len(digit_tuple) + exponent  # where the decimal point falls
    has_fraction = point < len(digits)
    if 0 < point <= (16 if has_fraction else 15):
        whole = digits[:point].ljust(point, "0")
        return f"{sign}{whole}.{digits[point:] or '0'}"
    if -4 < point <= 0:
        return f"{sign}0.{'0' * -point}{digits}"
    power = point - 1
    mark = "-" if power < 0 else "+"
    return f"{sign}{digits[0]}.{digits[1:] or '0'}e{mark}{abs(power):02d}"


def ruby_to_s(value: object) -> str:
    """Ruby's `to_s` for JSON values: nil → "", true → "true", 1.0 → "1.0"."""
    if value is None:
        return ""
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, float):
        return ruby_float_to_s(value)
    return str(value)
