"""A world: a population, what its users do, when, and what goes wrong.

Every output of the simulator is a pure function of (seed, world, minutes, flag
states). A world is a frozen value; `with_regressions` and `Regression.fixed_at`
build new ones whose traffic is the same wherever the change does not reach
(regressions draw from their own random streams).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from flagramp.core.errors import InvalidScenario
from flagramp.sim.curve import DailyCurve
from flagramp.sim.model import Discrete, EventModel, LogNormal
from flagramp.sim.population import Population
from flagramp.sim.scenario import Regression, RegressionKind

_REQUEST_TARGETS = frozenset(
    {RegressionKind.RATE, RegressionKind.LATENCY, RegressionKind.FINGERPRINT}
)


@dataclass(frozen=True, slots=True)
class World:
    """Traffic for a set of flags: who, what, when, and the injected regressions.

    `visits_per_day` counts the generated users' visits (a week's mean; the curve
    shapes each minute); named users add `named_visits_per_day` each. `buckets`
    is the number of user buckets aggregates sum over (as `stats` does: 256).
    """

    model: EventModel
    population: Population = dataclasses.field(default_factory=Population)
    visits_per_day: float = 20_000.0
    curve: DailyCurve = dataclasses.field(default_factory=DailyCurve)
    regressions: tuple[Regression, ...] = ()
    buckets: int = 256

    def __post_init__(self) -> None:
        if self.visits_per_day < 0 or self.buckets < 2:
            raise InvalidScenario("world", "needs visits_per_day >= 0, buckets >= 2")
        for i, r in enumerate(self.regressions):
            _check_regression(self.model, i, r)

    def with_regressions(self, *regressions: Regression) -> World:
        """The same world with exactly these regressions."""
        return dataclasses.replace(self, regressions=regressions)

    @property
    def requests_per_minute(self) -> float:
        """Mean requests per minute over a week (generated users)."""
        return self.visits_per_day / 1440.0 * self.model.mean_session

    def fingerprint_names(self) -> tuple[str, ...]:
        """Every fingerprint the aggregates index: each request kind's background
        ones, then timeouts, then the regressions' (each name once)."""
        names: dict[str, None] = {}
        for kind in self.model.request_kinds:
            names.update(dict.fromkeys(kind.fingerprint_names()))
        for kind in self.model.request_kinds:
            if kind.timeout_ms is not None:
                names.setdefault(kind.timeout_fingerprint)
        for r in self.regressions:
            if r.kind is RegressionKind.FINGERPRINT:
                names.setdefault(r.fingerprint)
        return tuple(names)


def visits_for_requests(requests_per_minute: float, model: EventModel) -> float:
    """The `visits_per_day` that gives this mean request rate."""
    return requests_per_minute * 1440.0 / model.mean_session


def _check_regression(model: EventModel, index: int, r: Regression) -> None:
    where = f"regression {index} ({r.kind})"
    requests = {k.name for k in model.request_kinds}
    business = {k.name for k in model.business}
    flows = {f.name for f in model.pages}
    environment = {k.name for k in model.environment}
    if r.end_minute is not None and r.end_minute < r.start_minute:
        raise InvalidScenario(where, "end_minute is before start_minute")
    if r.route is not None and r.kind not in _REQUEST_TARGETS:
        raise InvalidScenario(where, "only request regressions take a route")
    if r.kind in _REQUEST_TARGETS:
        if r.target is not None and r.target not in requests:
            raise InvalidScenario(where, f"no request kind named {r.target!r}")
        kinds = model.request_kinds
        if r.route is not None and not any(
            k.route == r.route and r.target in (None, k.name) for k in kinds
        ):
            raise InvalidScenario(where, f"no request kind at route {r.route!r}")
        if r.kind is RegressionKind.FINGERPRINT and not 0.0 <= r.amount <= 1.0:
            raise InvalidScenario(where, "amount is a probability in [0, 1]")
        return
    if r.kind is RegressionKind.PROBABILITY:
        if r.target not in business | flows:
            raise InvalidScenario(
                where, f"target must name a business kind or page flow: {r.target!r}"
            )
        return
    if r.kind is RegressionKind.VALUE:
        valued = {
            k.name for k in model.business if isinstance(k.value, Discrete | LogNormal)
        }
        if r.target not in valued:
            raise InvalidScenario(
                where, f"target must name a business kind with a value: {r.target!r}"
            )
        return
    if r.target not in environment:
        raise InvalidScenario(
            where, f"target must name an environment kind: {r.target!r}"
        )
    if not 0.0 <= r.amount <= 1.0:
        raise InvalidScenario(where, "amount is a probability per visit in [0, 1]")
