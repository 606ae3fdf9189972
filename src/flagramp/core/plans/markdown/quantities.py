"""Numbers as the template's authors write them: `5%`, `1 hr`, `2 hrs`, `1 day`.

Each reader returns a `Reading`: the value in the plan's own form (a
percentage, a duration such as `2h`, a date), or, when the text is not one
clear value, nothing and a reason (a range, several values, no unit). The
value is checked with the plan's own parsers, so what a reader accepts the
plan accepts too.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Generic, TypeVar

from pydantic_core import PydanticCustomError

from flagramp.core.plans.durations import Duration
from flagramp.core.plans.percentages import parse_percentage

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Reading(Generic[T]):
    """A value read from text, or why none could be: `1-5%` is a range."""

    value: T | None
    why_not: str = ""
    rest: str = ""
    """What the text says beside the value (`January 15` after `1 day,`)."""


_NUMBER = r"\d+(?:\.\d+)?"
_RANGE_PERCENT = re.compile(rf"({_NUMBER})\s*%?\s*(?:-|–|—|to)\s*({_NUMBER})\s*%")
_PERCENT = re.compile(rf"({_NUMBER})\s*%")
_BARE = re.compile(rf"(?<![\d.])({_NUMBER})(?![\d.])")
_WORDS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5,
          "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10}  # fmt: skip
_UNITS = {
    "y": ("year", "years", "yr", "yrs"),
    "mo": ("month", "months", "mo", "mos"),
    "w": ("week", "weeks", "wk", "wks", "w"),
    "d": ("day", "days", "d"),
    "h": ("hour", "hours", "hr", "hrs", "h"),
    "m": ("minute", "minutes", "min", "mins", "m"),
}
_UNIT_OF = {word: unit for unit, words in _UNITS.items() for word in words}
_AMOUNT = rf"({_NUMBER}|{'|'.join(_WORDS)})"
_UNIT = rf"({'|'.join(sorted(_UNIT_OF, key=len, reverse=True))})\b"
_PART = re.compile(rf"\b{_AMOUNT}\s*[- ]?\s*{_UNIT}", re.I)
_RANGE_TIME = re.compile(rf"\b{_NUMBER}\s*(?:-|–|—|to)\s*{_NUMBER}\s*{_UNIT}", re.I)


def percentage(text: str) -> Reading[float]:
    """`5%`, `**25%**`, `10` → a share of users; `1-5%` is a range, not a value."""
    match = _RANGE_PERCENT.search(text)
    if match:
        return Reading(None, f"a range, {match.group().strip()}")
    found = _PERCENT.findall(text) or _BARE.findall(text)
    if not found:
        return Reading(None)
    if len(set(found)) > 1:
        return Reading(None, f"several numbers ({', '.join(found)})")
    try:
        value = parse_percentage(found[0])
    except PydanticCustomError as exc:
        return Reading(None, exc.message())
    rest = _PERCENT.sub(" ", text, count=1) if _PERCENT.search(text) else text
    return Reading(value, rest=_rest(rest.replace(found[0], " ", 1)))


def duration(text: str) -> Reading[Duration]:
    """`1 hr` → 1h, `2 hrs` → 2h, `1 day, January 15` → 1d; `1-2 weeks` is a range."""
    match = _RANGE_TIME.search(text)
    if match:
        return Reading(None, f"a range, {match.group().strip()}")
    parts = list(_PART.finditer(text))
    if not parts:
        bare = _BARE.findall(text)
        return Reading(None, f"{bare[0]} has no unit" if bare else "")
    # Adjacent parts add up (`1 hour 30 minutes`); separate ones are several.
    run = [parts[0]]
    for part in parts[1:]:
        between = text[run[-1].end() : part.start()]
        if between.strip(" ,").lower() not in ("", "and"):
            return Reading(None, "several lengths of time")
        run.append(part)
    written = "".join(_part(p.group(1), _UNIT_OF[p.group(2).lower()]) for p in run)
    try:
        value = Duration.parse(written)
    except ValueError as exc:
        return Reading(None, str(exc))
    rest = text[: run[0].start()] + " " + text[run[-1].end() :]
    return Reading(value, rest=_rest(rest))


_MONTHS = {
    name: number
    for number, names in enumerate(
        (("jan", "january"), ("feb", "february"), ("mar", "march"),
         ("apr", "april"), ("may",), ("jun", "june"), ("jul", "july"),
         ("aug", "august"), ("sep", "sept", "september"), ("oct", "october"),
         ("nov", "november"), ("dec", "december")),
        start=1,
    )
    for name in names
}  # fmt: skip
_SLASHED = re.compile(r"\b(\d{1,2})/(\d{1,2})/(\d{2}|\d{4})\b")
_ISO = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")
_NAMED = re.compile(
    r"\b([A-Za-z]{3,9})\.?\s+(\d{1,2})(?:st|nd|rd|th)?(?:,?\s+(\d{4}))?\b"
)


def dates(text: str) -> Reading[tuple[dt.date, ...]]:
    """The dates in a line (`01/15/26 - 01/30/26`), or why they cannot be read."""
    found: list[tuple[int, dt.date | None]] = []
    for match in _SLASHED.finditer(text):
        month, day, year = (int(g) for g in match.groups())
        found.append(
            (match.start(), _date(year + 2000 if year < 100 else year, month, day))
        )
    for match in _ISO.finditer(text):
        year, month, day = (int(g) for g in match.groups())
        found.append((match.start(), _date(year, month, day)))
    for match in _NAMED.finditer(text):
        named = _MONTHS.get(match.group(1).lower())
        if named is None:
            continue
        if match.group(3) is None:
            return Reading(None, f"{match.group().strip()} has no year")
        found.append(
            (match.start(), _date(int(match.group(3)), named, int(match.group(2))))
        )
    if not found:
        return Reading(None)
    if any(day is None for _, day in found):
        return Reading(None, "not a calendar date")
    ordered = tuple(day for _, day in sorted(found, key=lambda f: f[0]) if day)
    return Reading(ordered)


def _date(year: int, month: int, day: int) -> dt.date | None:
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None


def _part(amount: str, unit: str) -> str:
    # Plans have no years: a year is 365 days (and two are the most a plan holds).
    number = str(_WORDS.get(amount.lower(), amount))
    return f"{float(number) * 365:g}d" if unit == "y" else f"{number}{unit}"


def _rest(text: str) -> str:
    return " ".join(text.split()).strip(" ,;:-–()*_")
