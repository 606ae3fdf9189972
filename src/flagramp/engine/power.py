"""What a stage can detect, in the plan's units: `core.plans` asks, `stats` answers.

`plan lint` (and the server's plan validation) pass `detectable_effect` to
`core.plans.lint`, which cannot import `stats` itself. Plans write rates in percent
and tolerances in points or percent of the typical value; the statistics work in
rates, so this module converts both ways.
"""

from __future__ import annotations

import math

from flagramp.core.plans.criteria import Unit
from flagramp.core.plans.detectability import DetectabilityQuery
from flagramp.stats.detectability import StageTraffic
from flagramp.stats.detectability import detectable_effect as stats_detectable_effect
from flagramp.stats.one_sided import Comparison, Direction

_COMPARISONS = {
    "absolute": Comparison.ABSOLUTE,
    "control": Comparison.CONTROL,
    "baseline": Comparison.BASELINE,
}
_MINUTES_PER_DAY = 1_440


def detectable_effect(query: DetectabilityQuery) -> float | None:
    """The smallest effect the stage catches within its hold, in the criterion's
    unit; None when the plan does not say enough (no traffic, no typical value, a
    mean without its spread), inf when no effect is caught in time."""
    comparison = _COMPARISONS[query.comparison]
    units_per_minute = (
        query.users_per_day / _MINUTES_PER_DAY
        if query.per_user and query.users_per_day
        else query.requests_per_minute
    )
    if not query.percent or not units_per_minute or query.share <= 0:
        return None
    if comparison is Comparison.ABSOLUTE:
        # The test runs at the limit: no typical value is needed.
        scale = 0.01
        base_rate, margin = query.margin / 100, 0.0
    else:
        if query.typical is None:
            return None
        base_rate = query.typical / 100
        # One unit of the criterion as a rate: a point is 0.01; a percent of the
        # typical value is base/100.
        scale = base_rate / 100 if query.unit is Unit.PERCENT else 0.01
        margin = query.margin * scale
    if not 0 < base_rate < 1:
        return None
    if comparison is Comparison.CONTROL and query.share >= 1:
        return None
    traffic = StageTraffic(
        requests_per_minute=units_per_minute,
        share=min(query.share, 1.0),
        base_rate=base_rate,
        alpha=query.alpha,
        comparison=comparison,
        margin=margin,
        mde=query.mde * scale,
        direction=Direction.HIGHER_IS_WORSE
        if query.higher_is_worse
        else Direction.LOWER_IS_WORSE,
    )
    effect = stats_detectable_effect(traffic, query.hold_minutes, beta=query.beta)
    return effect if math.isinf(effect) else effect / scale
