"""The daily traffic curve: busy afternoons, quiet nights, quieter weekends.

Minutes are epoch minutes (`int(at.timestamp() // 60)`, as windows count them), so
the time of day is UTC; `peak_hour_utc` puts the busiest hour where the users'
afternoon is (17:00 UTC is noon on the US east coast). The curve averages 1 over
a week, so a world's `visits_per_day` is the mean over a week.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from flagramp.core.errors import InvalidScenario

FloatArray = npt.NDArray[np.float64]

MINUTES_PER_DAY = 1440
# 1970-01-01, epoch day 0, was a Thursday (Monday = 0).
_EPOCH_WEEKDAY = 3


def epoch_minute(at: dt.datetime) -> int:
    """The epoch minute `at` falls in (what windows and the simulator count)."""
    if at.tzinfo is None:
        raise InvalidScenario("epoch_minute", "needs a timezone-aware time")
    return int(at.timestamp() // 60)


def minute_start(minute: int) -> dt.datetime:
    """The UTC time an epoch minute starts at."""
    return dt.datetime.fromtimestamp(minute * 60, tz=dt.UTC)


@dataclass(frozen=True, slots=True)
class DailyCurve:
    """Relative traffic by time of day and day of week.

    A raised cosine with relative swing `amplitude` (0: flat; 0.8: nights at a
    ninth of the peak), peaking at `peak_hour_utc`; Saturdays and Sundays carry
    `weekend` times a weekday's traffic.
    """

    amplitude: float = 0.6
    peak_hour_utc: float = 17.0
    weekend: float = 0.7

    def __post_init__(self) -> None:
        if not 0.0 <= self.amplitude < 1.0:
            raise InvalidScenario("daily curve", "amplitude must be in [0, 1)")
        if self.weekend <= 0.0:
            raise InvalidScenario("daily curve", "weekend must be > 0")

    def factors(self, start: int, end: int) -> FloatArray:
        """The curve's factor for each minute in [start, end); mean 1 over a week."""
        minutes = np.arange(start, end, dtype=np.int64)
        of_day = (minutes % MINUTES_PER_DAY).astype(np.float64)
        phase = 2.0 * math.pi * (of_day / 60.0 - self.peak_hour_utc) / 24.0
        shape = 1.0 + self.amplitude * np.cos(phase)
        weekday = (minutes // MINUTES_PER_DAY + _EPOCH_WEEKDAY) % 7
        norm = 7.0 / (5.0 + 2.0 * self.weekend)
        day = np.where(weekday >= 5, self.weekend * norm, norm)
        return np.asarray(shape * day, dtype=np.float64)


FLAT = DailyCurve(amplitude=0.0, weekend=1.0)
"""Constant traffic: every minute alike."""
