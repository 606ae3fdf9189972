"""flagramp.sim: a seeded, vectorised traffic simulator.

Pure functions of (seed, scenario, minute): `minute_users` draws the users, sessions
and failures of a minute, `minute_aggregate` sums them per arm and user bucket for
long runs, and `minute_events` renders them as the events a real application sends.
"""

from flagramp.sim.aggregate import CONTROL, TREATMENT, MinuteAggregate, minute_aggregate
from flagramp.sim.events import ROUTES, actor_id, minute_batch, minute_events
from flagramp.sim.scenario import Regression, RegressionKind, Scenario
from flagramp.sim.traffic import (
    UserBlock,
    fingerprint_weights,
    minute_rng,
    minute_users,
    request_rate,
)

__all__ = [
    "CONTROL",
    "ROUTES",
    "TREATMENT",
    "MinuteAggregate",
    "Regression",
    "RegressionKind",
    "Scenario",
    "UserBlock",
    "actor_id",
    "fingerprint_weights",
    "minute_aggregate",
    "minute_batch",
    "minute_events",
    "minute_rng",
    "minute_users",
    "request_rate",
]
