"""Date windows and time-of-day windows, read in their time zones.

A phase waits for its date window's start; `time_of_day` holds back flag
changes only (a kill switch never waits). Unknown zones read as UTC: the plan
checker already refuses them.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flagramp.core.plans.phases import DateWindow, TimeOfDay


def zone(name: str) -> dt.tzinfo:
    """The IANA zone, or UTC if it is unknown."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return dt.UTC


def window_opens(window: DateWindow) -> dt.datetime:
    """Midnight at the start of the window's first day, in its zone."""
    return dt.datetime.combine(window.start, dt.time(), zone(window.timezone))


def window_closes(window: DateWindow) -> dt.datetime | None:
    """Midnight after the window's last day, or None without an end."""
    if window.end is None:
        return None
    day = window.end + dt.timedelta(days=1)
    return dt.datetime.combine(day, dt.time(), zone(window.timezone))


def _clock(text: str) -> dt.time:
    hours, minutes = text.split(":")
    return dt.time(int(hours), int(minutes))


def time_of_day_open(window: TimeOfDay | None, now: dt.datetime) -> bool:
    """Whether flag changes may happen at `now`.

    A window whose start is after its end wraps past midnight (22:00–06:00 is
    open at 23:00 and at 05:00); its weekday is the day it opened. Start equal
    to end is open all day.
    """
    if window is None:
        return True
    local = now.astimezone(zone(window.timezone))
    at, start, end = local.time(), _clock(window.start), _clock(window.end)
    day = local.date()
    if start < end:
        is_open = start <= at < end
    elif at >= start:
        is_open = True
    elif at < end:
        is_open, day = True, day - dt.timedelta(days=1)
    else:
        is_open = False
    return is_open and not (window.weekdays_only and day.weekday() >= 5)


def minute_time(minute: int) -> dt.datetime:
    """An epoch minute as a UTC time."""
    return dt.datetime.fromtimestamp(minute * 60, dt.UTC)
