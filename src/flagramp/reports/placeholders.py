"""A scan for template placeholders left in a rendered report.

The seeds are full of them ("lorem ipsum", "x", "XX", "link here", "mm/dd/yy",
"[PICK_ONE]", "TBD"); a report must hold none. HTML is scanned as the text a
reader sees (tags, attributes, styles and scripts left out), so an SVG `x="12"`
attribute is not a lone "x".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html.parser import HTMLParser

#: What counts as a placeholder; the lone `x`/`XX` must stand alone between
#: spaces or punctuation (not in `x-axis`, `0x1f`, `max` or a ticked `[x]`).
PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("lorem ipsum", re.compile(r"lorem\s+ipsum", re.IGNORECASE)),
    ("a lone x", re.compile(r"(?<![\w\-/.#&\[])(?:x|xx|X|XX)(?![\w\-/.=(\]])")),
    ("link here", re.compile(r"link\s+here", re.IGNORECASE)),
    ("mm/dd/yy", re.compile(r"mm/dd/yy", re.IGNORECASE)),
    ("[PICK_ONE]", re.compile(r"\[PICK_ONE\]", re.IGNORECASE)),
    ("TBD", re.compile(r"\bTBD\b")),
)


@dataclass(frozen=True, slots=True)
class Placeholder:
    """A placeholder found: which, on which line, and the line's text."""

    kind: str
    line: int
    text: str


def find_placeholders(text: str, *, html: bool = False) -> tuple[Placeholder, ...]:
    """Every placeholder in a rendered report (Markdown, or HTML with `html`)."""
    lines = visible_text(text).splitlines() if html else text.splitlines()
    found = []
    for number, line in enumerate(lines, start=1):
        for kind, pattern in PATTERNS:
            if pattern.search(line):
                found.append(Placeholder(kind, number, line.strip()))
    return tuple(found)


class _Text(HTMLParser):
    _SKIP = frozenset({"style", "script"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._SKIP:
            self._skipping += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIP and self._skipping:
            self._skipping -= 1
        elif tag in {"p", "li", "tr", "h1", "h2", "h3", "h4", "div", "text"}:
            self.parts.append("\n")
        elif tag in {"td", "th"}:
            self.parts.append(" | ")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(data)


def visible_text(html: str) -> str:
    """The text of an HTML document as a reader sees it, one block a line."""
    parser = _Text()
    parser.feed(html)
    parser.close()
    return "".join(parser.parts)
