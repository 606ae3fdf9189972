"""What the traffic simulator simulates: a scenario is a frozen value.

A scenario describes one population and one flag's split: how many requests arrive
per minute (with an optional daily pattern), the treatment share, each user's session
length and propensity to fail (so one user's requests are correlated, by the intra-user
correlation `icc`), a background mix of error fingerprints shared by both arms, and
regressions injected in treatment from a given minute.

This is the fast, many-replicate model the statistics benchmark runs (thousands of
stages at once, fresh users every minute). `World` (`flagramp.sim.world`) is the
full model: a stable population, declared events, several flags, real bucketing.
Regressions serve both; the kinds after FINGERPRINT are the world's only.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from enum import StrEnum

from flagramp.core.errors import InvalidScenario
from flagramp.core.types import PropertyValue


class RegressionKind(StrEnum):
    """What a regression changes in treatment."""

    RATE = "rate"
    """Every treatment user's failure propensity rises by `amount` (a probability)."""
    LATENCY = "latency"
    """Every treatment request takes `amount` milliseconds longer (events only)."""
    FINGERPRINT = "fingerprint"
    """Each treatment request also fails with a new fingerprint, w.p. `amount`."""
    PROBABILITY = "probability"
    """A business event's (or page flow's entry) per-visit probability moves by
    `amount` (negative: down)."""
    VALUE = "value"
    """A business event's value moves by `amount` (CSAT down: -0.5)."""
    ENVIRONMENT = "environment"
    """Each treated visit adds an environment-level event w.p. `amount`."""


_LEGACY_KINDS = frozenset(
    {RegressionKind.RATE, RegressionKind.LATENCY, RegressionKind.FINGERPRINT}
)


@dataclass(frozen=True, slots=True)
class Regression:
    """A change injected in treatment only, in minutes [start_minute, end_minute).

    `ehr` restricts it to users with that EHR (`"oracle"`), like seed 003's regressions
    that only Oracle patients see; None means every treatment user. (A Scenario has
    only Oracle and other users, so any other value means "not Oracle"; a World
    compares it with each user's `ehr` property.)

    In a `World` (minutes are epoch minutes there): `flag` is the flag whose
    treatment it hits (None: a user with any flag of the call on); `target` names
    the request kind, business kind, page flow or environment kind it changes
    (None: every request kind) and `route` narrows request kinds to one route;
    `properties` narrows it to users with all of these property values;
    `end_minute` is when the simulated fix lands (None: never).
    """

    kind: RegressionKind
    amount: float
    start_minute: int = 0
    fingerprint: str = "NewError /regression"
    ehr: str | None = None
    flag: str | None = None
    target: str | None = None
    end_minute: int | None = None
    properties: tuple[tuple[str, PropertyValue], ...] = ()
    route: str | None = None

    def is_active(self, minute: int) -> bool:
        """Whether the regression is in force in `minute`."""
        return self.start_minute <= minute and (
            self.end_minute is None or minute < self.end_minute
        )

    def fixed_at(self, minute: int) -> Regression:
        """The same regression, fixed from `minute` on (traffic before is unchanged)."""
        return dataclasses.replace(self, end_minute=minute)

    def user_filter(self) -> tuple[tuple[str, PropertyValue], ...]:
        """The property values a user must have to be hit (`ehr` included)."""
        if self.ehr is None:
            return self.properties
        return (("ehr", self.ehr), *self.properties)


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
        def bad(detail: str) -> InvalidScenario:
            return InvalidScenario("scenario", detail)

        if not 0.0 <= self.treatment_share <= 1.0:
            raise bad("treatment_share must be in [0, 1]")
        if not 0.0 <= self.error_rate < 1.0:
            raise bad("error_rate must be in [0, 1)")
        if not 0.0 <= self.icc < 1.0:
            raise bad("icc must be in [0, 1)")
        if not 1 <= self.session_min <= self.session_max:
            raise bad("sessions need 1 <= session_min <= session_max")
        if self.requests_per_minute <= 0 or self.buckets < 2:
            raise bad("requests_per_minute > 0 and buckets >= 2 are required")
        for r in self.regressions:
            if r.kind not in _LEGACY_KINDS:
                raise bad(f"{r.kind} regressions need a World, not a Scenario")
            if r.flag or r.target or r.route or r.properties:
                raise bad("flag, target, route and properties need a World")

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
