"""The event model: what simulated users do on a visit, declared, not hard-coded.

A world's event model lists the request kinds a visit makes (name, route, latency,
failure rate, fingerprints), the business events that may happen on a visit (name,
per-visit probability, value, attributes), page flows (page views with a referrer,
for funnels and path analysis) and environment-level events (no actor, no variant:
contact-center calls). Plans name their events freely, so nothing here knows the
examples' names; `flagramp.sim.examples` declares worlds that use them.

Every kind may be gated on a flag (`flag`, `flag_on`): VAOS calls the new service
only when its toggle is on for the user. A gated request kind may name what serves
the request when the flag is off (`when_off`: the old path), so moving a flag moves
requests from one path to the other and the visit makes as many as before.
"""

from __future__ import annotations

from dataclasses import dataclass

from flagramp.core.errors import InvalidScenario
from flagramp.core.types import PropertyValue

#: Attributes a business event carries: `(("target", "care_system_radio"),)`.
Attributes = tuple[tuple[str, PropertyValue], ...]


@dataclass(frozen=True, slots=True)
class Discrete:
    """Values drawn from `values` with `weights` (a CSAT score of 1–5).

    A value shift (regression) moves a draw between neighbouring values at random
    so that the mean moves by the shift exactly, inside the range.
    """

    values: tuple[float, ...]
    weights: tuple[float, ...]

    def __post_init__(self) -> None:
        if not self.values or len(self.values) != len(self.weights):
            raise InvalidScenario("Discrete", "needs one weight per value")
        if list(self.values) != sorted(set(self.values)):
            raise InvalidScenario("Discrete", "values must be increasing")
        if self.values[0] < 0:
            # Value bins follow DDSketch's positive side and its zero bin only.
            raise InvalidScenario("Discrete", "values must be >= 0")
        if min(self.weights) < 0 or sum(self.weights) <= 0:
            raise InvalidScenario("Discrete", "weights must be >= 0, not all 0")


@dataclass(frozen=True, slots=True)
class LogNormal:
    """Positive values with this median and log-scale spread (an amount, a wait)."""

    median: float
    sigma: float = 0.5

    def __post_init__(self) -> None:
        if self.median <= 0 or self.sigma < 0:
            raise InvalidScenario("LogNormal", "needs median > 0 and sigma >= 0")


ValueModel = Discrete | LogNormal


def _check_probability(where: str, name: str, p: float) -> None:
    if not 0.0 <= p <= 1.0:
        raise InvalidScenario(where, f"{name} must be in [0, 1], not {p!r}")


@dataclass(frozen=True, slots=True)
class RequestKind:
    """Requests of one name and route, as the app's middleware reports them.

    Latency is log-normal (`latency_median_ms`, `latency_sigma`); a request fails
    with `failure_rate` and a fingerprint drawn from `fingerprints` (Zipf weights:
    a few common errors and a long tail; an int generates that many names). A
    request that takes `timeout_ms` or longer times out: status 504, fingerprint
    `TimeoutError <route>`, latency `timeout_ms`. `failure_event` and
    `timeout_event` also report each failure or timeout as a business event of that
    name, for plans that count them under their own names (`api_error`).
    """

    name: str
    route: str
    weight: float = 1.0
    """Relative share of a visit's requests."""
    latency_median_ms: float = 180.0
    latency_sigma: float = 0.6
    failure_rate: float = 0.01
    fingerprints: int | tuple[str, ...] = 20
    timeout_ms: float | None = None
    failure_event: str | None = None
    timeout_event: str | None = None
    flag: str | None = None
    flag_on: bool = True
    """With `flag`: only users for whom the flag is on (False: off) make these."""
    when_off: RequestKind | None = None
    """With `flag`: the kind that serves these requests when the gate is shut."""

    def __post_init__(self) -> None:
        where = f"request kind {self.name!r}"
        if self.when_off is not None and self.flag is None:
            raise InvalidScenario(where, "when_off needs a flag")
        fallback = self.when_off
        if fallback is not None and (fallback.flag or fallback.when_off):
            raise InvalidScenario(where, "when_off must be a plain, ungated kind")
        _check_probability(where, "failure_rate", self.failure_rate)
        if self.weight <= 0 or self.latency_median_ms <= 0 or self.latency_sigma < 0:
            raise InvalidScenario(
                where, "needs weight > 0, latency_median_ms > 0, latency_sigma >= 0"
            )
        if isinstance(self.fingerprints, int) and self.fingerprints < 1:
            raise InvalidScenario(where, "needs at least one fingerprint")
        if self.timeout_ms is not None and self.timeout_ms <= 0:
            raise InvalidScenario(where, "timeout_ms must be > 0")
        if self.timeout_event is not None and self.timeout_ms is None:
            raise InvalidScenario(where, "a timeout_event needs timeout_ms")

    def fingerprint_names(self) -> tuple[str, ...]:
        """Background fingerprints, most common first (the timeout's not included)."""
        if isinstance(self.fingerprints, tuple):
            return self.fingerprints
        stem = "".join(p.capitalize() for p in self.name.split("_"))
        return tuple(
            f"{stem}Error{j:02d} {self.route}" for j in range(self.fingerprints)
        )

    @property
    def timeout_fingerprint(self) -> str:
        return f"TimeoutError {self.route}"


@dataclass(frozen=True, slots=True)
class BusinessKind:
    """A product event that happens on a visit with `probability`.

    `after` names an earlier business kind: the event can only happen on visits
    where that one did (abandoned after started, booked after attempted), and
    `probability` is then conditional on it. `value` draws the event's value
    (CSAT score); None sends no value.
    """

    name: str
    probability: float
    value: ValueModel | None = None
    route: str | None = None
    attributes: Attributes = ()
    after: str | None = None
    flag: str | None = None
    flag_on: bool = True

    def __post_init__(self) -> None:
        _check_probability(
            f"business kind {self.name!r}", "probability", self.probability
        )


@dataclass(frozen=True, slots=True)
class PageFlow:
    """Page views along a path: a visit enters at `entry` with `probability`, then
    moves along `transitions` (from, to, probability; what is left leaves).

    Each view is a business event named `name` whose route is the page and whose
    attribute `referrer` is the page before (none on the entry page), so a
    plan's metric can ask who went from `/recent` straight to `/start-message`.
    """

    entry: str
    probability: float
    transitions: tuple[tuple[str, str, float], ...] = ()
    name: str = "page_view"
    max_pages: int = 6
    flag: str | None = None
    flag_on: bool = True

    def __post_init__(self) -> None:
        where = f"page flow {self.name!r} at {self.entry!r}"
        _check_probability(where, "probability", self.probability)
        if self.max_pages < 1:
            raise InvalidScenario(where, "max_pages must be >= 1")
        out: dict[str, float] = {}
        for source, _, p in self.transitions:
            _check_probability(where, "a transition's probability", p)
            out[source] = out.get(source, 0.0) + p
        if any(total > 1.0 + 1e-9 for total in out.values()):
            raise InvalidScenario(where, "transitions from one page add up past 1")

    def routes(self) -> tuple[str, ...]:
        """Every page of the flow, the entry first."""
        seen = dict.fromkeys([self.entry])
        for source, target, _ in self.transitions:
            seen.setdefault(source)
            seen.setdefault(target)
        return tuple(seen)


@dataclass(frozen=True, slots=True)
class EnvironmentKind:
    """An event of the whole environment, with no actor and no variant.

    Contact-center calls: `per_day` on average, following the daily curve.
    Regressions may add some per treated visit (an actor-less echo of harm).
    """

    name: str
    per_day: float

    def __post_init__(self) -> None:
        if self.per_day < 0:
            raise InvalidScenario(f"environment kind {self.name!r}", "per_day < 0")


@dataclass(frozen=True, slots=True)
class EventModel:
    """Everything a visit may produce; a visit makes `session_min..session_max`
    requests (uniform), each of a kind chosen by weight."""

    requests: tuple[RequestKind, ...]
    business: tuple[BusinessKind, ...] = ()
    pages: tuple[PageFlow, ...] = ()
    environment: tuple[EnvironmentKind, ...] = ()
    session_min: int = 1
    session_max: int = 20
    fingerprint_exponent: float = 1.2
    """Zipf exponent of each request kind's background fingerprints."""

    def __post_init__(self) -> None:
        if not self.requests:
            raise InvalidScenario("event model", "needs at least one request kind")
        if not 1 <= self.session_min <= self.session_max:
            raise InvalidScenario(
                "event model", "sessions need 1 <= session_min <= session_max"
            )
        earlier: set[str] = set()
        for kind in self.business:
            if kind.after is not None and kind.after not in earlier:
                raise InvalidScenario(
                    f"business kind {kind.name!r}",
                    f"`after` must name an earlier business kind, not {kind.after!r}",
                )
            earlier.add(kind.name)

    @property
    def mean_session(self) -> float:
        """Mean requests per visit."""
        return (self.session_min + self.session_max) / 2.0

    @property
    def request_kinds(self) -> tuple[RequestKind, ...]:
        """Every request kind: the declared ones, then their `when_off` kinds."""
        fallbacks = tuple(k.when_off for k in self.requests if k.when_off is not None)
        return self.requests + fallbacks

    def fallback_index(self) -> tuple[int, ...]:
        """For each declared kind, its `when_off` kind's index in `request_kinds`
        (-1: none)."""
        out, next_index = [], len(self.requests)
        for kind in self.requests:
            if kind.when_off is None:
                out.append(-1)
            else:
                out.append(next_index)
                next_index += 1
        return tuple(out)
