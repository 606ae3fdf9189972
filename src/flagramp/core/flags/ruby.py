"""Ruby's conversions that Flipper's rules depend on, reproduced exactly.

Flipper reads gate values and expression arguments with Ruby's `to_i`, `to_f` and
`to_s`; a re-implementation that used Python's `int()`/`float()`/`str()` would
disagree on inputs such as `"25abc"` (25 in Ruby), `"1e2".to_i` (1) or `1.0.to_s`
(`"1.0"`).
"""

from __future__ import annotations

import re

_TO_I = re.compile(r"^\s*([+-]?\d[\d_]*)")
_TO_F = re.compile(r"^\s*([+-]?(\d[\d_]*)?(\.\d[\d_]*)?([eE][+-]?\d+)?)")


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
    try:
        return float(body)
    except ValueError:
        # "1e" or "1.5e+": Ruby ignores the dangling exponent.
        return float(re.sub(r"[eE][+-]?$", "", body))


def ruby_to_number(text: str) -> int | float:
    """Flipper's `Typecast.to_number` for strings: `.` means float, else integer."""
    return ruby_to_f(text) if "." in text else ruby_to_i(text)


def ruby_float_to_s(value: float) -> str:
    """Ruby's `Float#to_s`: `25.0`, `12.5`, `1.0e+20`, `1.0e-05`."""
    if value != value:
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "Infinity" if value > 0 else "-Infinity"
    if value == int(value) and abs(value) < 1e16:
        return f"{int(value)}.0"
    text = repr(value)
    if "e" in text:
        mantissa, exponent = text.split("e")
        if "." not in mantissa:
            mantissa += ".0"
        sign = "-" if exponent.startswith("-") else "+"
        return f"{mantissa}e{sign}{exponent.lstrip('+-').zfill(2)}"
    if abs(value) < 1e-4:
        return ruby_float_to_s_sci(value)
    return text


def ruby_float_to_s_sci(value: float) -> str:
    mantissa, exponent = f"{value:e}".split("e")
    mantissa = mantissa.rstrip("0")
    if mantissa.endswith("."):
        mantissa += "0"
    sign = "-" if exponent.startswith("-") else "+"
    return f"{mantissa}e{sign}{exponent.lstrip('+-').zfill(2)}"


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
