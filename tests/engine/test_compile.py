"""Plans compiled into what the statistics run."""

from __future__ import annotations

from flagramp.core.metric_kinds import MetricKind
from flagramp.core.plans.metrics import QuantileMetric, RatioMetric
from flagramp.engine.compile import metric_specs
from flagramp.stats.ingest import MetricSpec


def test_specs_come_from_plan_metrics() -> None:
    specs = metric_specs(
        {
            "err": RatioMetric(kind="ratio", numerator="x_failed", denominator="x"),
            "p95": QuantileMetric(
                kind="quantile",
                event="x",
                value="latency_ms",
                q=0.95,
                where=("route == /a",),
            ),
        }
    )
    assert specs == (
        MetricSpec("err", MetricKind.RATIO, ("x_failed", "x")),
        MetricSpec("p95", MetricKind.QUANTILE, ("x",), "latency_ms", ("route == /a",)),
    )
