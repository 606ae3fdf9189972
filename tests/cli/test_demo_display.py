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


def _rendered(table: object) -> str:
    from flagramp.cli.output import SafeConsole

    console = SafeConsole(width=160, record=True, markup=False, emoji=False)
    console.print(table)
    return console.export_text()


def test_the_summary_puts_each_criterion_on_its_own_line() -> None:
    import datetime as dt

    from flagramp.cli.demo_display import summary_table
    from flagramp.cli.demo_loop import StageRow
    from flagramp.engine.evaluation import DataHealth, StageEvaluation

    plan = load_plan(SM.read_text(encoding="utf-8"), str(SM)).plan
    checks = (_check("error_rate", 0.0041), _check("csat", 4.01))
    evaluation = StageEvaluation(0, checks, 10, 10, 0, 100, None, DataHealth())
    at = dt.datetime(2026, 1, 20, tzinfo=dt.UTC)
    row = StageRow(1, 0, 5, at, at + dt.timedelta(hours=1), evaluation, "passed")
    text = _rendered(summary_table(plan, [row]))
    # The console escapes newlines in plain strings: the lines are a Text.
    assert "\\n" not in text
    assert "g: 0.41 % (healthy)" in text and "g: 4.01 (healthy)" in text


def test_the_incident_table_keeps_a_row_to_one_line_and_the_cause_below() -> None:
    from flagramp.cli.demo_display import incident_table

    record = {
        "incident": "I1",
        "severity": "critical",
        "trigger": "criterion",
        "detected_at": "2026-01-10T15:00:00+00:00",
        "acted_at": "2026-01-10T15:00:00+00:00",
        "root_cause": "Simulated regression: " + "the fix was deployed " * 10,
    }
    text = _rendered(incident_table([record]))
    [row] = [line for line in text.splitlines() if "│ I1" in line]
    assert "01-10 15:00" in row and "critical" in row
    assert "I1 root cause: Simulated regression:" in text
