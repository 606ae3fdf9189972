"""Waiting between attempts: exponential, capped, with jitter."""

from __future__ import annotations

from collections.abc import Callable


class Backoff:
    """Delays of base, 2 x base, 4 x base ... up to `cap`, each drawn from the
    upper half of its step (equal jitter).

    Rationale: when a server comes back, every client it had reconnects; jitter
    spreads them out, and keeping the lower half out means no client retries at
    once in a tight loop.
    """

    def __init__(self, base: float, cap: float, random: Callable[[], float]) -> None:
        self.base = base
        self.cap = cap
        self.attempts = 0
        self._random = random

    def next_delay(self) -> float:
        """The wait before the next attempt (and count this attempt)."""
        step = min(self.cap, self.base * 2.0 ** min(self.attempts, 60))
        self.attempts += 1
        return step / 2.0 + self._random() * step / 2.0

    def reset(self) -> None:
        """An attempt succeeded: the next failure starts from `base` again."""
        self.attempts = 0
