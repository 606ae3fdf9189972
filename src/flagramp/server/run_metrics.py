"""Run-state metrics on `/metrics`: the store's totals and the controller's ticks.

`flagramp_runs{status}`, `flagramp_run_transitions_total`,
`flagramp_run_rollbacks_total{kind}`, `flagramp_guard_decisions_total{decision,
mode}` and `flagramp_guard_harmful_total{mode,action,acted}` are read from the
run tables when Prometheus scrapes, so every replica says the same, wherever
the controller runs; each scrape reads only the run log's entries added since
the last one (`store.run_totals_counter`).
The tick figures (`flagramp_controller_ticks_total`,
`flagramp_controller_tick_duration_seconds`, `flagramp_controller_steps_total`,
`flagramp_controller_lease_held`, …) are this process's: only the replica
holding the lease ticks.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import Engine

from flagramp.core.errors import StoreError
from flagramp.core.plans import Mode
from flagramp.engine.controller import TickReport
from flagramp.engine.run_state import RunStatus
from flagramp.stats import GuardOutcome
from flagramp.store.run_totals_counter import RunTotalsCounter

log = logging.getLogger(__name__)

#: Tick durations (seconds): a tick of a few runs takes milliseconds, of
#: hundreds of runs seconds.
TICK_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)


#: Descriptions of the guard metrics.
DECISIONS_HELP = (
    "Criteria by the decision their stage was left on (healthy, inconclusive, "
    "harmful) and their mode"
)
HARMFUL_HELP = (
    "Criteria found harmful (once per stage attempt), by mode, the action their "
    "failure takes, and whether it was applied"
)


class RunTotalsCollector(Collector):
    """Runs by status (every status, 0 when none), transitions, rollbacks and
    guard decisions."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.counter = RunTotalsCounter(engine)

    def describe(self) -> Iterator[Metric]:
        # Described without a query, so registering does not touch the store.
        yield GaugeMetricFamily("flagramp_runs", "Runs by status", labels=["status"])
        yield CounterMetricFamily(
            "flagramp_run_transitions", "Run transitions written (all runs)"
        )
        yield CounterMetricFamily(
            "flagramp_run_rollbacks", "Rollbacks and kills, by kind", labels=["kind"]
        )
        yield CounterMetricFamily(
            "flagramp_guard_decisions", DECISIONS_HELP, labels=["decision", "mode"]
        )
        yield CounterMetricFamily(
            "flagramp_guard_harmful", HARMFUL_HELP, labels=["mode", "action", "acted"]
        )

    def collect(self) -> Iterator[Metric]:
        try:
            totals = self.counter.read()
        except StoreError as exc:  # the scrape still answers the other metrics
            log.warning("run metrics: %s", exc)
            return
        runs = GaugeMetricFamily("flagramp_runs", "Runs by status", labels=["status"])
        for status in RunStatus:
            runs.add_metric([status.value], totals.by_status.get(status.value, 0))
        yield runs
        yield CounterMetricFamily(
            "flagramp_run_transitions",
            "Run transitions written (all runs)",
            value=totals.transitions,
        )
        rollbacks = CounterMetricFamily(
            "flagramp_run_rollbacks", "Rollbacks and kills, by kind", labels=["kind"]
        )
        for kind, count in sorted(totals.rollbacks.items()):
            rollbacks.add_metric([kind], count)
        yield rollbacks
        decisions = CounterMetricFamily(
            "flagramp_guard_decisions", DECISIONS_HELP, labels=["decision", "mode"]
        )
        # Every decision × mode appears, 0 when none, so that a rate() has a
        # series from the first scrape on.
        for outcome in GuardOutcome:
            for kind in Mode:
                count = totals.decisions.get((outcome.value, kind.value), 0)
                decisions.add_metric([outcome.value, kind.value], count)
        yield decisions
        harmful = CounterMetricFamily(
            "flagramp_guard_harmful", HARMFUL_HELP, labels=["mode", "action", "acted"]
        )
        for (mode, action, acted), count in sorted(totals.harms.items()):
            harmful.add_metric([mode, action, acted], count)
        yield harmful


class ControllerMetrics:
    """What this process's controller loop did."""

    def __init__(self, registry: CollectorRegistry) -> None:
        r = registry
        self.ticks = Counter(
            "flagramp_controller_ticks", "Controller ticks in this process", registry=r
        )
        self.tick_seconds = Histogram(
            "flagramp_controller_tick_duration_seconds",
            "Time of one controller tick (every active run, then the outbox)",
            buckets=TICK_BUCKETS,
            registry=r,
        )
        self.steps = Counter(
            "flagramp_controller_steps",
            "Run transitions this process's controller wrote",
            registry=r,
        )
        self.conflicts = Counter(
            "flagramp_controller_conflicts",
            "Runs a person's command moved while the controller decided",
            registry=r,
        )
        self.run_failures = Counter(
            "flagramp_controller_run_failures",
            "Runs whose transition could not be decided or written in a tick",
            registry=r,
        )
        self.tick_failures = Counter(
            "flagramp_controller_tick_failures",
            "Ticks that failed as a whole (logged; the loop goes on)",
            registry=r,
        )
        self.lease_held = Gauge(
            "flagramp_controller_lease_held",
            "1 while this process holds the controller lease",
            registry=r,
        )
        self.runs_checked = Gauge(
            "flagramp_controller_runs_checked",
            "Active runs the last tick checked",
            registry=r,
        )

    def record(self, report: TickReport, seconds: float) -> None:
        """Count one tick."""
        self.ticks.inc()
        self.tick_seconds.observe(seconds)
        self.steps.inc(sum(report.steps.values()))
        self.conflicts.inc(len(report.conflicts))
        self.run_failures.inc(len(report.failed))
        self.runs_checked.set(report.runs)
