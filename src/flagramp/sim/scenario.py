"""What the traffic simulator simulates: a scenario is a frozen value.

A scenario describes one population and one flag's split: how many requests arrive
per minute (with an optional daily pattern), the treatment share, each user's session
length and propensity to fail (so one user's requests are correlated, by the intra-user
correlation `icc`), a background mix of error fingerprints shared by both arms, and
regressions injected in treatment from a given minute.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from enum import StrEnum


class RegressionKind(StrEnum):
    """What a regression changes in treatment."""

    RATE = "rate"
    """Every treatment user's failure propensity rises by `amount` (a probability)."""
    LATENCY = "latency"
    """Every treatment request takes `amount` milliseconds longer (events only)."""
    FINGERPRINT = "fingerprint"
    """Each treatment request also fails with a new fingerprint, w.p. `amount`."""


@dataclass(frozen=True, slots=True)
class Regression:
    """A change injected in treatment only, from `start_minute` on.

    `ehr` restricts it to users with that EHR (`"oracle"`), like seed 003's regressions
    that only Oracle patients see; None means every treatment user.
    """

    kind: RegressionKind
    amount: float
    start_minute: int = 0
    fingerprint: str = "NewError /regression"
    ehr: str | None = None


@dataclass(frozen=True, slots=True)
class Scenario:
    """Traffic for one simulated flag; all rates are per request.

    `icc` is the intra-user correlation of failures: each user's propensity is drawn
    from Beta(a, b) with mean `error_rate` and a + b = (1 - icc) / icc; 0 gives
    independent requests. Sessions are uniform on `session_min..session_max` requests
    and lie within the minute the user arrives (so distinct users add across minutes).
    """

    requests_per_minute: float = 2000.0
    treatment_share: float = 0.05
    error_rate: float = 0.01
    icc: float = 0.0
    session_min: int = 1
    session_max: int = 20
    daily_amplitude: float = 0.0
    """Relative swing of the request rate over 1,440 minutes (0: flat)."""
    oracle_share: float = 0.3
    background_fingerprints: int = 200
    fingerprint_exponent: float = 1.2
    """Zipf exponent of the background fingerprint mix: the long tail."""
    latency_median_ms: float = 180.0
    latency_sigma: float = 0.6
    buckets: int = 256
    regressions: tuple[Regression, ...] = field(default=())

    def __post_init__(self) -> None:
        if not 0.0 < self.treatment_share < 1.0:
            raise ValueError("treatment_share must be strictly between 0 and 1")
        if not 0.0 <= self.error_rate < 1.0:
            raise ValueError("error_rate must be in [0, 1)")
        if not 0.0 <= self.icc < 1.0:
            raise ValueError("icc must be in [0, 1)")
        if not 1 <= self.session_min <= self.session_max:
            raise ValueError("sessions need 1 <= session_min <= session_max")
        if self.requests_per_minute <= 0 or self.buckets < 2:
            raise ValueError("requests_per_minute > 0 and buckets >= 2 are required")

    @property
    def mean_session(self) -> float:
        """Mean requests per user session."""
        return (self.session_min + self.session_max) / 2.0

    def with_regressions(self, *regressions: Regression) -> Scenario:
        """The same scenario with `regressions` injected."""
        return dataclasses.replace(self, regressions=regressions)

    def fingerprint_names(self) -> tuple[str, ...]:
        """Fingerprints the aggregates index: background first, then injected."""
        background = tuple(
            f"BackgroundError{j:03d} /route{j % 7}"
            for j in range(self.background_fingerprints)
        )
        injected = tuple(
            r.fingerprint
            for r in self.regressions
            if r.kind is RegressionKind.FINGERPRINT
        )
        return background + injected
