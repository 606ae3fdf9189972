"""How a report writes numbers, times and missing values (Jinja2 filters).

Every filter writes a missing value in words ("no data"), never a blank, so a
rendered report holds no placeholder.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable

from flagramp.reports.model import Pending

#: Written where a number has no data behind it.
NO_DATA = "no data"


def number(value: object, unit: str = "") -> str:
    """`1234.0` → `1,234`; `3.14159` → `3.14`; None → `no data`; a Pending as words."""
    if isinstance(value, Pending):
        return str(value)
    if value is None or isinstance(value, bool) or not isinstance(value, int | float):
        return NO_DATA
    if not math.isfinite(value):
        return NO_DATA
    if (float(value).is_integer() and abs(value) >= 1) or abs(value) >= 100:
        text = f"{value:,.0f}"
    elif abs(value) >= 1:
        text = f"{value:.2f}".rstrip("0").rstrip(".")
    elif value == 0:
        text = "0"
    else:
        text = f"{value:.3g}"
    if not unit:
        return text
    return f"{text} %" if unit == "%" else f"{text} {unit}"


def interval(value: object, unit: str = "") -> str:
    """`(1.2, 3.4)` → `1.2 – 3.4 %`; None → `none`."""
    if not isinstance(value, tuple) or len(value) != 2:
        return "none"
    low, high = value
    return f"{number(low)} – {number(high, unit)}"


def when(value: object) -> str:
    """A time as `2026-01-05 10:00 UTC`, a date as `2026-01-05`."""
    if isinstance(value, Pending):
        return str(value)
    if isinstance(value, dt.datetime):
        return f"{value.astimezone(dt.UTC):%Y-%m-%d %H:%M} UTC"
    if isinstance(value, dt.date):
        return f"{value:%Y-%m-%d}"
    return "not recorded" if value is None else str(value)


def given(value: object) -> str:
    """A given text, or what is missing and from whom."""
    if value is None or value == "":
        return "not given"
    return str(value)


def yes_no(value: object) -> str:
    """True → `yes`, False → `no`, None → `not known`."""
    if value is None:
        return "not known"
    return "yes" if value else "no"


#: How a stage period ended (the log's event kind), in words.
_ENDED = {
    "stage_left": "moved on",
    "rolled_back": "rolled back",
    "killed": "killed",
    "aborted": "aborted",
    "completed": "run completed",
    "phase_completed": "phase completed",
    "go_live": "went live",
    "went_live": "went live",
}


def ended(kind: object) -> str:
    """`stage_left` → `moved on`; an unknown kind with its underscores as spaces."""
    text = str(kind)
    return _ENDED.get(text, "ended by " + text.replace("_", " "))


def is_pending(value: object) -> bool:
    """Whether a value is a Pending (for templates)."""
    return isinstance(value, Pending)


FILTERS: dict[str, Callable[..., str]] = {
    "number": number,
    "interval": interval,
    "when": when,
    "given": given,
    "yes_no": yes_no,
    "ended": ended,
}
TESTS: dict[str, Callable[[object], bool]] = {"pending": is_pending}
