"""Which metric sources an evaluated stage reads are failing, and since when.

A stage whose criteria read a metric from Prometheus or Datadog cannot be
trusted while that source does not answer, or answers what is not a reading.
Every tick, `SourceHealth.failures` asks each such source for the stage's
metrics over the last minute; a source that raises, answers garbage or does not
answer within `deadline` seconds is failing from the first tick it did so until
it answers again. The evaluation turns that into a data gap
(`engine.health.data_health`): the stage's clock stops and the run says which
source, since when.

The read runs in a worker thread with a deadline: a source whose own timeout
does not fire (a hung handler, a socket that trickles) must not hold up the
controller's tick and every other run with it.
"""

from __future__ import annotations

import concurrent.futures
import datetime as dt
import logging
from collections.abc import Mapping

from flagramp.core.plans.metrics import QuerySource
from flagramp.engine.compiled import CompiledStage
from flagramp.engine.machine import RunContext
from flagramp.engine.scopes import epoch_minute
from flagramp.sources.base import MetricQuery, MetricSource, Reading

log = logging.getLogger(__name__)

#: Seconds a source has to answer the probe.
DEFAULT_DEADLINE = 10.0
#: The probe's range: the last minute.
PROBE_RANGE = dt.timedelta(minutes=1)


class SourceHealth:
    """Probes the sources (by plan source kind: `prometheus`, `datadog`) a
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
            max_workers=4, thread_name_prefix="flagramp source probe"
        )

    def failures(
        self, context: RunContext, stage: CompiledStage, now: dt.datetime
    ) -> dict[str, int]:
        """Source kind -> the epoch minute it began failing, for the sources
        `stage`'s checks read (empty: every one answered)."""
        minute = epoch_minute(now)
        failing: dict[str, int] = {}
        for kind, metrics in sorted(self._metrics_by_source(context, stage).items()):
            source = self.sources.get(kind)
            if source is None:
                continue
            problem = self._probe(source, metrics, now)
            if problem is None:
                self._failing.pop(kind, None)
                continue
            since = self._failing.setdefault(kind, minute)
            log.warning("run %s: source %s: %s", context.run, kind, problem)
            failing[kind] = since
        return failing

    def close(self) -> None:
        """Stop the worker threads (a hung read's thread ends with its read)."""
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _metrics_by_source(
        self, context: RunContext, stage: CompiledStage
    ) -> dict[str, list[str]]:
        wanted: dict[str, list[str]] = {}
        for check in stage.checks:
            name = getattr(check, "metric", None)
            metric = context.plan.metrics.get(name) if name else None
            if metric is not None and isinstance(metric.source, QuerySource):
                assert name is not None
                wanted.setdefault(metric.source.kind, []).append(name)
        return {kind: sorted(set(names)) for kind, names in wanted.items()}

    def _probe(
        self, source: MetricSource, metrics: list[str], now: dt.datetime
    ) -> str | None:
        """None when every metric was read, or what went wrong."""
        for metric in metrics:
            query = MetricQuery(metric, now - PROBE_RANGE, now)
            future = self._pool.submit(source.read, query)
            try:
                answer = future.result(timeout=self.deadline)
            except concurrent.futures.TimeoutError:
                return f"no answer to {metric} within {self.deadline:g} s"
            except Exception as exc:
                return f"{metric}: {exc}"
            if not isinstance(answer, Reading):
                return f"{metric}: not a reading ({type(answer).__name__})"
        return None


__all__ = ["DEFAULT_DEADLINE", "SourceHealth"]
