"""Unpaired surrogates in parsed JSON: valid JSON (`"\\ud800"`), but no text.

No backend stores one, UTF-8 cannot write one back out, and URL escaping
fails on one; both APIs refuse a body that holds one (the events route leaves
that to each event's own check instead, so one bad event costs only itself).
"""

from __future__ import annotations

import re

#: A `\uD800`-`\uDFFF` escape: the only way JSON bytes can name a surrogate.
SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def may_hold_surrogates(body: bytes) -> bool:
    """Whether JSON bytes could parse to text with a surrogate (a fast check)."""
    return SURROGATE_ESCAPE.search(body) is not None


def has_unpaired_surrogate(value: object) -> bool:
    """Whether any text in parsed JSON `value`, keys included, holds a
    surrogate. (The parser joins escaped pairs into one character, so any
    surrogate left is unpaired.)"""
    stack: list[object] = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if not item.isascii() and _SURROGATE.search(item):
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False
