"""User text made safe for a terminal, and phrases said the same way everywhere."""

from __future__ import annotations

import difflib
import unicodedata
from collections.abc import Iterable

#: Unicode categories written as escapes: controls (C0, DEL, C1), format characters
#: (right-to-left overrides, zero-width joiners, BOM), surrogates (from arguments
#: that were not UTF-8), private use, unassigned, and line/paragraph separators.
#: Rationale: any of these can move the cursor, recolour the screen, reorder what
#: the reader sees or start a new line, so none reaches a terminal raw.
_ESCAPED = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})


def shown(text: str) -> str:
    """`text` as typed, with each character that could act on a terminal written
    as a Python escape: ESC is `\\x1b`, a newline `\\n`, U+202E `\\u202e`.

    Backslashes are kept as typed, so `\\x1b` typed as four characters prints the
    same as an escaped ESC; the terminal is safe either way.
    """
    if text.isprintable():  # the common case, checked at C speed
        return text
    return "".join(_escape(c) for c in text)


def _escape(char: str) -> str:
    if unicodedata.category(char) not in _ESCAPED:
        return char
    code = ord(char)
    if code < 0x100:
        return {"\n": "\\n", "\r": "\\r", "\t": "\\t"}.get(char, f"\\x{code:02x}")
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def count(number: int, noun: str, plural: str | None = None) -> str:
    """`1 phase`, `0 phases`, `3 flags`: a number and its noun, in English."""
    word = noun if number == 1 else plural or f"{noun}s"
    return f"{number:,} {word}"


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """`"; did you mean 'list'?"` for the closest choices, or `""` if none is close."""
    # Compared case-folded, so that `x` finds `X`.
    folded = {c.casefold(): c for c in choices}
    close = difflib.get_close_matches(word.casefold(), list(folded), n=3)
    matches = [folded[c] for c in close]
    if not matches:
        return ""
    return "; did you mean " + " or ".join(repr(m) for m in matches) + "?"
