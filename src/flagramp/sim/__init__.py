"""flagramp.sim: a seeded, vectorised traffic simulator.

Two models, both pure functions of their inputs:

- `Scenario` (legacy, many replicates): `minute_users` draws the users, sessions
  and failures of a minute, `minute_aggregate` sums them per arm and user bucket,
  and `minute_events` renders them; fresh users every minute. The statistics
  benchmark runs thousands of stages at once on it.
- `World`: a stable population (`Population`) with properties and devices, a
  declared event model (`EventModel`: request kinds, business events, page flows,
  environment-level events), a daily curve, and regressions. Flags are given as
  `FlagState`s and assign users by Flipper's bucketing. `span_aggregate` sums a
  span of epoch minutes per flag, lane, channel and user bucket (the fast mode:
  a month costs seconds); `span_batches` / `span_events` render the same traffic
  as events. Both read the same draws, so they agree exactly.
"""

from flagramp.sim.aggregate import CONTROL, TREATMENT, MinuteAggregate, minute_aggregate
from flagramp.sim.assignment import (
    ALLOW_LISTED,
    LANE_NAMES,
    LANES,
    NOT_EXPOSED,
    OFF,
    ON,
    FlagState,
    flag_lanes,
)
from flagramp.sim.channels import Channel
from flagramp.sim.curve import FLAT, DailyCurve, epoch_minute, minute_start
from flagramp.sim.events import ROUTES, actor_id, minute_batch, minute_events
from flagramp.sim.lane_sums import NEVER, FlagSums
from flagramp.sim.model import (
    BusinessKind,
    Discrete,
    EnvironmentKind,
    EventModel,
    LogNormal,
    PageFlow,
    RequestKind,
)
from flagramp.sim.population import (
    Population,
    Trait,
    population_ids,
    population_users,
    user_bucket,
)
from flagramp.sim.render import NO_ACTOR, span_batches, span_events
from flagramp.sim.scenario import Regression, RegressionKind, Scenario
from flagramp.sim.span import SpanAggregate, span_aggregate
from flagramp.sim.traffic import (
    UserBlock,
    fingerprint_weights,
    minute_rng,
    minute_users,
    request_rate,
)
from flagramp.sim.world import World, visits_for_requests

__all__ = [
    "ALLOW_LISTED",
    "CONTROL",
    "FLAT",
    "LANES",
    "LANE_NAMES",
    "NEVER",
    "NOT_EXPOSED",
    "NO_ACTOR",
    "OFF",
    "ON",
    "ROUTES",
    "TREATMENT",
    "BusinessKind",
    "Channel",
    "DailyCurve",
    "Discrete",
    "EnvironmentKind",
    "EventModel",
    "FlagState",
    "FlagSums",
    "LogNormal",
    "MinuteAggregate",
    "PageFlow",
    "Population",
    "Regression",
    "RegressionKind",
    "RequestKind",
    "Scenario",
    "SpanAggregate",
    "Trait",
    "UserBlock",
    "World",
    "actor_id",
    "epoch_minute",
    "fingerprint_weights",
    "flag_lanes",
    "minute_aggregate",
    "minute_batch",
    "minute_events",
    "minute_rng",
    "minute_start",
    "minute_users",
    "population_ids",
    "population_users",
    "request_rate",
    "span_aggregate",
    "span_batches",
    "span_events",
    "user_bucket",
    "visits_for_requests",
]
