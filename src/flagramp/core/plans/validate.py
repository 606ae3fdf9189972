"""Checks across fields: references resolve, percentages climb, the plan can run.

`check` runs once pydantic accepted every field. The checks live by concern in
`check_metrics`, `check_phases`, `check_criteria` and `check_policy`; each adds
a `Finding` with the path of the value to fix, and nothing stops at the first.
"""

from __future__ import annotations

from flagramp.core.plans.check_metrics import check_metrics
from flagramp.core.plans.check_phases import check_phases
from flagramp.core.plans.check_policy import (
    check_alerts,
    check_go_live,
    check_notifications,
    check_promotion,
    check_rollback,
)
from flagramp.core.plans.checker import Checker
from flagramp.core.plans.plan import Plan, Signature
from flagramp.core.plans.problems import Finding


def check(plan: Plan) -> list[Finding]:
    """Every cross-field problem of a plan that pydantic accepted field by field."""
    checker = Checker(plan)
    _header(checker)
    check_metrics(checker)
    check_phases(checker)
    check_rollback(checker)
    check_promotion(checker)
    check_go_live(checker)
    check_alerts(checker)
    check_notifications(checker)
    return checker.findings


def _header(checker: Checker) -> None:
    plan = checker.plan
    checker.role(("owner",), plan.owner)
    checker.role(("product_owner",), plan.product_owner)
    if not plan.phases and plan.promotion is None:
        checker.add(
            (),
            "a plan needs rollout phases, a promotion, or both",
            "add phases: [...] or promotion: {steps: [...]}",
        )
    envs = [e.name for e in plan.environments]
    if envs and plan.environment not in envs:
        checker.add(
            ("environment",),
            f"{plan.environment!r} is not one of the plan's environments",
            f"use one of {', '.join(envs)}",
        )
    checker.unique(("environments",), envs, "name")
    for name, segment in plan.segments.items():
        checker.rules(("segments", name, "rules"), segment.rules)
    for i, item in enumerate(plan.prerequisites):
        checker.role(
            ("prerequisites", i, "signed_by"), item.signed_by, Signature.PREREQUISITE
        )
    for i, milestone in enumerate(plan.milestones):
        if milestone.owner is not None:
            checker.role(("milestones", i, "owner"), milestone.owner)
