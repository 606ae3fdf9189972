"""How long a delivery waits after a failure, and how many times it is tried.

Exponential backoff with jitter: after the n-th failure the next attempt comes
after a delay drawn uniformly from [d/2, d], d = min(first_delay * 2**(n-1),
max_delay) ("equal jitter": never sooner than half the step, so a dead receiver
is not hammered, and dispatchers that failed together spread out). With the
defaults, 10 attempts span about 1.5 to 3 hours before the row is failed.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass


@dataclass(frozen=True)
class RetryPolicy:
    """Attempts, delays and the lease a dispatcher holds while it sends."""

    max_attempts: int = 10
    first_delay: dt.timedelta = dt.timedelta(seconds=30)
    max_delay: dt.timedelta = dt.timedelta(hours=1)
    lease: dt.timedelta = dt.timedelta(minutes=2)
    """Longer than any one attempt can take (HTTP and SMTP time out after 10 s
    per step): a dispatcher killed mid-send leaves the row to others after it."""

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if not dt.timedelta(0) < self.first_delay <= self.max_delay:
            raise ValueError("need 0 < first_delay <= max_delay")
        if self.lease <= dt.timedelta(0):
            raise ValueError("the lease must be positive")

    def delay(
        self, failures: int, rng: random.Random, retry_after: float | None = None
    ) -> dt.timedelta:
        """The wait after the `failures`-th failure in a row (1 for the first).

        A receiver's Retry-After is honoured up to `max_delay`."""
        if failures < 1:
            raise ValueError("the first failure is failure 1")
        cap = self.max_delay.total_seconds()
        step = min(self.first_delay.total_seconds() * 2.0 ** min(failures - 1, 60), cap)
        wait = step / 2 + rng.random() * step / 2
        if retry_after is not None:
            wait = max(wait, min(retry_after, cap))
        return dt.timedelta(seconds=wait)

    def is_last(self, attempts: int) -> bool:
        """Whether a row tried `attempts` times gets no further attempt."""
        return attempts >= self.max_attempts
