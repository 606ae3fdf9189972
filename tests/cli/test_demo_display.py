"""The demo's criteria values read in their metric's unit: a CSAT score is a
score, an error rate a percentage (a mean once showed as "400 %")."""

from __future__ import annotations

from pathlib import Path

import pytest

from flagramp.cli.demo_display import _value
from flagramp.core.plans import Mode, load_plan
from flagramp.core.severity import Severity
from flagramp.engine.evaluation import CheckResult
from flagramp.stats import Evidence, GuardDecision, GuardOutcome

SM = Path(__file__).parents[2] / "examples" / "secure-messaging-oracle-health.yaml"


def _check(metric: str | None, estimate: float, test: str = "ratio") -> CheckResult:
    evidence = Evidence(
        test=test,
        estimate=estimate,
        lower=0.0,
        upper=1.0,
        treatment_size=1.0,
        alpha=0.05,
    )
    decision = GuardDecision("g", GuardOutcome.HEALTHY, Severity.LOW, evidence)
    return CheckResult("g", metric, Mode.OBSERVE, False, decision)


@pytest.mark.parametrize(
    ("metric", "estimate", "shown"),
    [
        ("csat", 4.0099, "4.01"),  # a mean score, not 401 %
        ("error_rate", 0.0041, "0.41 %"),
        ("users_sending", 0.4243, "42.43 %"),
        ("messages_sent", 12.0, "12"),
    ],
)
def test_a_criterion_value_is_shown_in_its_metrics_unit(
    metric: str, estimate: float, shown: str
) -> None:
    plan = load_plan(SM.read_text(encoding="utf-8"), str(SM)).plan
    assert _value(plan, _check(metric, estimate)) == shown
