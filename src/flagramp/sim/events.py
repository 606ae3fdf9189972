"""Simulated traffic as the events a real application sends (`core.events`).

The users, sessions and failures are those of `minute_users` (one replicate), so the
events of a minute aggregate to the same totals as `minute_aggregate`; details that
aggregates do not carry (routes, devices, latencies, timestamps) come from a second
generator, `SeedSequence([seed, minute, 1])`, so they never disturb the counts.
"""

from __future__ import annotations

import datetime as dt

import numpy as np

from flagramp.core.events import (
    DeviceClass,
    Event,
    EventBatch,
    Exposure,
    RequestOutcome,
    Variant,
)
from flagramp.sim.scenario import RegressionKind, Scenario
from flagramp.sim.traffic import minute_users

#: Routes a simulated session visits (seed 003: appointments on VistA or Oracle).
ROUTES = ("/appointments", "/appointments/:id", "/facilities", "/providers")
_DEVICES = (DeviceClass.DESKTOP, DeviceClass.MOBILE, DeviceClass.TABLET)


def actor_id(seed: int, minute: int, user: int) -> str:
    """The stable actor id of a simulated user."""
    return f"sim-{seed}-{minute}-{user}"


def minute_events(
    seed: int,
    scenario: Scenario,
    minute: int,
    *,
    flag: str,
    start: dt.datetime,
) -> tuple[Event, ...]:
    """Exposures and request outcomes of `minute`; the stage began at `start`.

    Each user gets one exposure, then one outcome per request of the session; the
    first `errors` requests of a user fail (status 500) with the fingerprints the
    aggregates count.
    """
    block = minute_users(seed, scenario, minute)
    detail = np.random.default_rng(np.random.SeedSequence([seed, minute, 1]))
    names = scenario.fingerprint_names()
    origin = start + dt.timedelta(minutes=minute)
    total_requests = int(block.requests.sum())
    offsets = np.sort(detail.random(total_requests)) * 60.0
    latency = detail.lognormal(
        np.log(scenario.latency_median_ms), scenario.latency_sigma, total_requests
    )
    routes = detail.integers(0, len(ROUTES), total_requests)
    devices = detail.integers(0, len(_DEVICES), block.users)
    shift = sum(
        r.amount
        for r in scenario.regressions
        if r.kind is RegressionKind.LATENCY and r.is_active(minute)
    )
    first_error = np.searchsorted(block.error_user, np.arange(block.users))
    events: list[Event] = []
    k = 0
    for u in range(block.users):
        actor = actor_id(seed, minute, u)
        treated = bool(block.treatment[u])
        at = origin + dt.timedelta(seconds=float(offsets[k]))
        events.append(Exposure(at, actor, flag, Variant.ON if treated else Variant.OFF))
        for i in range(int(block.requests[u])):
            failed = i < int(block.errors[u])
            fingerprint = (
                names[int(block.error_fingerprint[first_error[u] + i])]
                if failed
                else None
            )
            events.append(
                RequestOutcome(
                    at=origin + dt.timedelta(seconds=float(offsets[k])),
                    actor=actor,
                    route=ROUTES[int(routes[k])],
                    status=500 if failed else 200,
                    latency_ms=float(latency[k]) + (shift if treated else 0.0),
                    device=_DEVICES[int(devices[u])],
                    error=fingerprint,
                )
            )
            k += 1
    return tuple(events)


def minute_batch(
    seed: int, scenario: Scenario, minute: int, *, flag: str, start: dt.datetime
) -> EventBatch:
    """`minute_events` in one batch whose key makes redelivery idempotent."""
    return EventBatch(
        key=f"sim-{seed}-{minute}",
        events=minute_events(seed, scenario, minute, flag=flag, start=start),
    )
