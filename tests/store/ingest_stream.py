"""A stream of simulated batches ingested into the store, run as a child process
that the kill test ends with SIGKILL (`python -m tests.store.ingest_stream URL`)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import sys

from flagramp.core.events import Event, EventBatch, Exposure
from flagramp.core.metric_kinds import MetricKind
from flagramp.sim.events import minute_batch
from flagramp.sim.scenario import Scenario
from flagramp.stats.ingest import BatchIngest, MetricSpec
from flagramp.store.windows import WindowStore

T0 = dt.datetime(2026, 11, 23, 10, 0, tzinfo=dt.UTC)
NOW = T0 + dt.timedelta(minutes=9)
RUN = "run-9/p1/s1/a1"
SPECS = (
    MetricSpec("error_rate", MetricKind.RATIO, ("request_failed", "request")),
    MetricSpec("failing_users", MetricKind.SHARE_OF_USERS, ("request_failed",)),
    MetricSpec("users", MetricKind.UNIQUE_ACTORS, ("request",)),
    MetricSpec("p95", MetricKind.QUANTILE, ("request",), "latency_ms"),
)


def batches() -> list[EventBatch]:
    """Eight minutes of traffic. Each batch exposes the previous minute's users
    again, so that a lost or doubled actor state shows in the first-time counts."""
    scenario = Scenario(requests_per_minute=3000, treatment_share=0.5)
    out: list[EventBatch] = []
    previous: list[Event] = []
    for minute in range(8):
        batch = minute_batch(11, scenario, minute, flag="f", start=T0)
        again = [
            dataclasses.replace(e, at=e.at + dt.timedelta(minutes=1)) for e in previous
        ]
        out.append(EventBatch(batch.key, (*batch.events, *again)))
        previous = [e for e in batch.events if isinstance(e, Exposure)]
    return out


def main(url: str) -> None:
    store = WindowStore.open(url)
    pipe = BatchIngest(RUN, "f", SPECS)
    for batch in batches():
        store.ingest(pipe, batch, received_at=NOW)
        print(batch.key, flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
