"""The kinds of metric a plan can define. Shared by plans and stats.

A plain enum in its own module so that `stats` can use it without loading the plan
models (pydantic, PyYAML).
"""

from __future__ import annotations

from enum import StrEnum


class MetricKind(StrEnum):
    """What a metric computes from events (see `core.plans.metrics`)."""

    RATIO = "ratio"
    SHARE_OF_USERS = "share_of_users"
    SHARE_ABOVE = "share_above"
    COUNT = "count"
    MEAN = "mean"
    QUANTILE = "quantile"
    UNIQUE_ACTORS = "unique_actors"
