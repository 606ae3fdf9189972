"""Reading a stage's external metrics (Prometheus, Datadog), and which sources fail.

A stage whose criteria read a metric from Prometheus or Datadog cannot be
trusted while that source does not answer, or answers what is not a reading.
Every tick, `SourceHealth.read` asks each such source once per metric for the
stage attempt's span [stage start, now), with the plan's own query. What it
answers becomes that metric's arms, one per lane (`source_arms` of
`evaluate_stage`); a source that raises, answers garbage or does not answer
within `deadline` seconds is failing from the first tick it did so until it
answers again, and a kind the plan names but the controller was not given
(`sources.config`: not configured) fails the same way. The evaluation turns a
failure into a data gap (`engine.health.data_health`): the stage's clock stops
and the run says which source, since when.

Variant label convention (docs/sdk.md): a series' `variant` is `on` (the
treatment lane; the allow-listed lane in an allow-list-only stage) or `off`
(control). Other values are not compared. A reading without one of them leaves
that lane without data: its criteria stay inconclusive, never healthy.

The reads run in a worker thread with a deadline: a source whose own timeout
does not fire (a hung handler, a socket that trickles) must not hold up the
controller's tick and every other run with it.
"""

from __future__ import annotations

import concurrent.futures
import datetime as dt
import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass, field

from flagramp.core.errors import StatsError
from flagramp.core.plans.metrics import QuerySource
from flagramp.engine.compiled import CompiledStage
from flagramp.engine.machine import RunContext
from flagramp.engine.scopes import epoch_minute
from flagramp.sources.base import ExternalQuery, MetricQuery, MetricSource, Reading
from flagramp.sources.config import not_configured, sources_from_env
from flagramp.stats.estimates import ArmEstimate
from flagramp.stats.overdispersion import arm_from_source, estimate_overdispersion
from flagramp.stats.windows import Lane

log = logging.getLogger(__name__)

#: Seconds a source has to answer one metric's read.
DEFAULT_DEADLINE = 10.0
#: One point per minute, the step the documented queries are written for.
STEP = dt.timedelta(minutes=1)
#: At most this many points per series (Prometheus refuses more than 11,000):
#: a longer span reads with a longer step.
MAX_POINTS = 10_000

#: The `variant` label's values (docs/sdk.md) and the lane each one is.
CONTROL_VARIANT = "off"
TREATMENT_VARIANT = "on"


@dataclass(frozen=True, slots=True)
class SourceReads:
    """What a stage's external sources said at one tick."""

    failures: dict[str, int] = field(default_factory=dict)
    """Source kind -> the epoch minute it began failing."""
    problems: dict[str, str] = field(default_factory=dict)
    """Source kind -> what is wrong, when it is not "unavailable"."""
    arms: dict[str, dict[Lane, ArmEstimate]] = field(default_factory=dict)
    """Metric -> lane -> its arm over the span; every external metric of the
    stage is here, with no lanes when its source failed."""


def step_for(span: dt.timedelta) -> dt.timedelta:
    """One minute, or whole minutes enough to keep a series under MAX_POINTS."""
    minutes = max(1, math.ceil(span / STEP / MAX_POINTS))
    return STEP * minutes


def lane_arms(reading: Reading, treatment_lane: Lane) -> dict[Lane, ArmEstimate]:
    """A reading's arms by lane (variant `on` -> `treatment_lane`, `off` ->
    control), each with φ estimated from its own steps; a variant absent from
    the reading has no arm."""
    arms: dict[Lane, ArmEstimate] = {}
    for variant, lane in (
        (TREATMENT_VARIANT, treatment_lane),
        (CONTROL_VARIANT, Lane.OFF),
    ):
        series = reading.series(variant)
        if not series:
            continue
        events = [p.numerator for p in series]
        trials = [p.denominator for p in series]
        try:
            phi = estimate_overdispersion(events, trials)
        except StatsError:
            # Not a proportion (a mean's sum over counts): no binomial φ.
            phi = estimate_overdispersion([], [])
        arms[lane] = arm_from_source(math.fsum(events), math.fsum(trials), phi)
    return arms


class SourceHealth:
    """Reads the sources (by plan source kind: `prometheus`, `datadog`) a
    stage's metrics come from, and remembers since when each is failing."""

    def __init__(
        self,
        sources: Mapping[str, MetricSource],
        *,
        deadline: float = DEFAULT_DEADLINE,
    ) -> None:
        self.sources = dict(sources)
        self.deadline = deadline
        #: source kind -> the epoch minute it began failing.
        self._failing: dict[str, int] = {}
        # Threads of reads that hung are left behind, not joined.
        self._pool = concurrent.futures.ThreadPoolExecutor(
            max_workers=4, thread_name_prefix="flagramp source read"
        )

    def read(
        self,
        context: RunContext,
        stage: CompiledStage,
        now: dt.datetime,
        since: dt.datetime,
    ) -> SourceReads:
        """Each external metric of `stage`'s checks over [since, now), and
        the sources failing (empty: every one answered)."""
        minute = epoch_minute(now)
        treatment_lane = Lane.ALLOW_LISTED if stage.allow_list_only else Lane.ON
        reads = SourceReads()
        for kind, queries in sorted(self.queries(context, stage).items()):
            reads.arms.update({metric: {} for metric in queries})
            source = self.sources.get(kind)
            problem: str | None
            if source is None:
                problem = not_configured(kind)
                reads.problems[kind] = problem
            else:
                found, problem = self._read(source, queries, now, since)
                for metric, reading in found.items():
                    if problem is None:  # a failing source's metrics: no data
                        reads.arms[metric] = lane_arms(reading, treatment_lane)
            if problem is None:
                self._failing.pop(kind, None)
                continue
            reads.failures[kind] = self._failing.setdefault(kind, minute)
            log.warning("run %s: source %s: %s", context.run, kind, problem)
        return reads

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> SourceHealth:
        """The sources `FLAGRAMP_PROMETHEUS_URL`, `DD_API_KEY`, `DD_APP_KEY`
        and `DD_SITE` configure (`sources.config`); none set is fine: a plan
        metric that reads an unconfigured kind is a data gap saying so."""
        return cls(sources_from_env(environ))

    def close(self) -> None:
        """Stop the worker threads (a hung read's thread ends with its read)."""
        self._pool.shutdown(wait=False, cancel_futures=True)

    def queries(
        self, context: RunContext, stage: CompiledStage
    ) -> dict[str, dict[str, ExternalQuery]]:
        """Source kind -> metric -> the plan's query, for `stage`'s external
        metrics."""
        wanted: dict[str, dict[str, ExternalQuery]] = {}
        for check in stage.checks:
            name = getattr(check, "metric", None)
            metric = context.plan.metrics.get(name) if name else None
            if metric is not None and isinstance(metric.source, QuerySource):
                assert name is not None
                query = ExternalQuery(
                    metric.source.query, metric.source.denominator_query
                )
                wanted.setdefault(metric.source.kind, {})[name] = query
        return {kind: dict(sorted(q.items())) for kind, q in wanted.items()}

    def _read(
        self,
        source: MetricSource,
        queries: Mapping[str, ExternalQuery],
        now: dt.datetime,
        since: dt.datetime,
    ) -> tuple[dict[str, Reading], str | None]:
        """The readings, and None when every metric was read or what went
        wrong (the first failure ends the source's reads for this tick)."""
        # The first tick of a stage reads its first minute (no earlier data).
        end = max(now, since + STEP)
        found: dict[str, Reading] = {}
        for metric, external in queries.items():
            query = MetricQuery(metric, since, end, step_for(end - since), external)
            answer, problem = self.read_one(source, query)
            if answer is None:
                return found, problem
            found[metric] = answer
        return found, None

    def read_one(
        self, source: MetricSource, query: MetricQuery
    ) -> tuple[Reading | None, str | None]:
        """`source.read(query)` within the deadline: the reading, or None and
        what went wrong."""
        metric = query.metric
        future = self._pool.submit(source.read, query)
        try:
            answer = future.result(timeout=self.deadline)
        except concurrent.futures.TimeoutError:
            return None, f"no answer to {metric} within {self.deadline:g} s"
        except Exception as exc:
            return None, f"{metric}: {exc}"
        if not isinstance(answer, Reading):
            return None, f"{metric}: not a reading ({type(answer).__name__})"
        return answer, None


__all__ = [
    "CONTROL_VARIANT",
    "DEFAULT_DEADLINE",
    "MAX_POINTS",
    "STEP",
    "TREATMENT_VARIANT",
    "SourceHealth",
    "SourceReads",
    "lane_arms",
    "step_for",
]
