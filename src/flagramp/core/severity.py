"""Severity: how serious a failed check is. Shared by plans, stats and the engine.

A plain enum in its own module so that `stats` can use it without loading the plan
models (pydantic, PyYAML).
"""

from __future__ import annotations

from enum import StrEnum


class Severity(StrEnum):
    """How serious a failed criterion is; the rollback policy maps it to an action."""

    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
