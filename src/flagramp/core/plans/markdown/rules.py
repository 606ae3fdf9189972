"""Small rules for the template's lines: `Label: value`, blanks, samples, names.

Each rule reads one line's text. What a rule cannot read with certainty it
leaves to the person (a TBD), never to a guess.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from flagramp.core.plans.base import Text
from flagramp.core.plans.lint import PLACEHOLDERS

#: A plan's free text holds at most this many characters (`base.Text`).
MAX_TEXT = 2_000
#: The template's own guidance: `[link here]`, `[use your KPIs …]`, `yes/no`.
_TEMPLATE_TEXT = (
    re.compile(r"^\[.*\]$", re.S),
    re.compile(r"^\(?\s*yes\s*/\s*no\b", re.I),
    re.compile(r"^\(?\s*ready\s*/\s*not ready\s*\)?", re.I),
    re.compile(r"\b(?:add|update|insert)\b.{0,40}\bhere\b", re.I),
    re.compile(r"^(?:n/?a|none yet|etc\.?)$", re.I),
)
_SAMPLE_MARK = re.compile(r"\(\s*sample\s*\)", re.I)
_YES_NO = re.compile(r"\byes\s*/\s*no\b|\[?PICK_ONE\]?", re.I)
_URL = re.compile(r"https?://[^\s<>\"'\]\[()]+")
#: A toggle (Flipper feature) name: snake_case with two or more underscores, or
#: any snake_case name written as code.
_TOGGLE = re.compile(r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+){2,}\b")
_SNAKE = re.compile(r"^[a-z][a-z0-9]*(?:_[a-z0-9]+)+$")


@dataclass(frozen=True, slots=True)
class Labelled:
    """A `Label: value` line: the label as written and the value after it."""

    label: str
    value: str

    @property
    def key(self) -> str:
        """The label folded for matching: lower case, single spaces."""
        return " ".join(self.label.lower().split())


def split_label(text: str) -> Labelled | None:
    """`Percentage of users: 5%` → (`Percentage of users`, `5%`); None without a label.

    A label ends at the first colon, or at a question mark when the line has no
    colon (`Any UX changes necessary…? yes/no`). A colon inside a web address
    does not end a label.
    """
    masked = _URL.sub(lambda m: "x" * len(m.group()), text)
    colon = masked.find(":")
    if colon > 0 and text[:colon].strip():
        return Labelled(text[:colon].strip(), text[colon + 1 :].strip())
    mark = masked.find("?")
    if 0 < mark < len(text) - 1 and text[:mark].strip():
        return Labelled(text[: mark + 1].strip(), text[mark + 1 :].strip())
    return None


def is_blank(value: str) -> bool:
    """True for a value the template left to fill: empty, `x`, `lorem ipsum`, …"""
    text = unmark_sample(value).strip().strip("*_").strip()
    if not text or text in ("-", "?"):
        return True
    if any(p.search(text) for p in _TEMPLATE_TEXT):
        return True
    return any(pattern.search(text) for pattern, _ in PLACEHOLDERS)


def is_sample(text: str) -> bool:
    """True if the text is marked as a template's example: `2 (Sample)`."""
    return bool(_SAMPLE_MARK.search(text))


def unmark_sample(text: str) -> str:
    """The text without its `(Sample)` mark."""
    return " ".join(_SAMPLE_MARK.sub(" ", text).split())


def is_yes_no(text: str) -> bool:
    """True if the template offers yes/no (or `[PICK_ONE]`) as the answer."""
    return bool(_YES_NO.search(text))


def clean_label(label: str) -> str:
    """A label as question text: without `[PICK_ONE]` and `(Sample)` marks."""
    text = re.sub(r"\[?PICK_ONE\]?", " ", unmark_sample(label), flags=re.I)
    return " ".join(text.split()).strip(" :-")


def answer_of(value: str) -> str:
    """A value with the template's `yes/no,` or `[PICK_ONE]:` prefix removed."""
    text = re.sub(r"^\s*\[?PICK_ONE\]?\s*:?\s*", "", value, flags=re.I)
    text = re.sub(r"^\s*yes\s*/\s*no\s*,?\s*", "", text, flags=re.I)
    return unmark_sample(text).strip()


def urls(text: str) -> list[str]:
    """The web addresses written in the text, without trailing punctuation."""
    return [m.group().rstrip(".,;:!?") for m in _URL.finditer(text)]


def toggles(text: str, code: tuple[str, ...] = ()) -> list[str]:
    """Toggle names in a line: snake_case names, outside any web address."""
    found = [span for span in code if _SNAKE.match(span)]
    for name in _TOGGLE.findall(_URL.sub(" ", text)):
        if name not in found:
            found.append(name)
    return found


def without(text: str, names: list[str]) -> str:
    """The text with the names (and their brackets or ticks) taken out."""
    for name in names:
        text = re.sub(rf"[(`\[]*\b{re.escape(name)}\b[)`\]]*", " ", text)
    return " ".join(text.split()).strip(" -–:,")


#: Title words a plan's name leaves out: every plan is a release plan.
_PLAN_WORDS = frozenset({"release", "rollout", "plan"})


def slug(text: str) -> str:
    """A plan name from a title: `VAOS Service Integration - Release Plan` →
    `vaos-service-integration` (at most 60 characters, whole words)."""
    words = re.findall(r"[a-z0-9]+", text.lower())
    kept = [w for w in words if w not in _PLAN_WORDS] or words
    name = ""
    for word in kept:
        if len(name) + len(word) + 1 > 60:
            break
        name = f"{name}-{word}" if name else word
    return name if name[:1].isalpha() else f"plan-{name}".strip("-")


def text(value: str) -> tuple[Text, str]:
    """Free text as a plan may hold it, and a note when it had to be cut."""
    if len(value) <= MAX_TEXT:
        return value, ""
    cut = value[: MAX_TEXT - 1].rsplit(" ", 1)[0]
    return cut + "…", f"cut at {MAX_TEXT:,} characters"


def hints(value: str) -> list[str]:
    """The examples in template guidance: `… things like a, b, c, etc.` → [a, b, c]."""
    match = re.search(r"things like\s+(.*)", value, re.I | re.S)
    if match is None:
        return []
    body = match.group(1).strip().rstrip("]").strip()
    body = re.sub(r"(?:,\s*)?\betc\b\.?\s*$", "", body, flags=re.I)
    return [
        part.strip(" ._")
        for part in re.split(r",\s*|\s+or\s+", body)
        if part.strip(" ._")
    ]
