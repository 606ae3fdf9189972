"""`/metrics` counts guard decisions and rollbacks from the run log: a real run
on the engine, whose criteria's decisions the test scripts."""

from __future__ import annotations

import datetime as dt
import re

from flagramp.engine.controller import Controller
from flagramp.stats import GuardOutcome
from flagramp.store.run_totals import guard_counts
from flagramp.store.windows import WindowStore
from tests.engine.run_support import Scripted
from tests.server.routes.run_plan import PLAN
from tests.server.routes.runs_kit import Runs, runs

__all__ = ["runs"]

#: The small plan with its criteria acting by rollback (severity critical:
#: disable_all), and a second, observe-mode criterion on both stages.
OBSERVED = (
    "severity: critical, mode: rollback}\n"
    "          - {kind: absolute, metric: abandon_rate, below: 20, mde: 5, "
    "severity: low, mode: observe}"
)
GUARDED = (
    PLAN.replace("severity: critical}", OBSERVED)
    .replace(
        "  error_rate: {kind: ratio",
        "  abandon_rate: {kind: ratio, numerator: abandoned, denominator: request}\n"
        "  error_rate: {kind: ratio",
    )
    .replace(
        "  request: {kind: request}",
        "  request: {kind: request}\n  abandoned: {kind: business}",
    )
)


def _samples(text: str, name: str) -> dict[str, float]:
    found = {}
    for line in text.splitlines():
        match = re.fullmatch(rf"{name}\{{(.*)\}} (\S+)", line)
        if match:
            found[match.group(1)] = float(match.group(2))
    return found


def test_metrics_count_each_guards_decision_and_the_rollback(runs: Runs) -> None:
    script = Scripted()
    api = runs.api
    runs.controller = Controller(
        api.store, WindowStore(api.store.engine), api.clock, evaluate=script, send=None
    )
    run = runs.start(GUARDED)
    # The canary: the error rate healthy, the abandonment (observe mode)
    # inconclusive; the go/no-go passes, the stage is left.
    script.outcomes["absolute:abandon_rate"] = GuardOutcome.INCONCLUSIVE
    runs.to_go_no_go(run)
    for role in ("eng", "po"):
        voted = runs.command(run, "vote", role, role=role, answer="launch")
        assert voted.status_code == 200, voted.text
    runs.tick()
    assert runs.show(run)["stage"] == "All"
    # The second stage: both turn harmful; the error rate rolls back, the
    # abandonment is only reported.
    script.outcomes["absolute:error_rate"] = GuardOutcome.HARMFUL
    script.outcomes["absolute:abandon_rate"] = GuardOutcome.HARMFUL
    runs.tick(dt.timedelta(minutes=5))
    assert runs.show(run)["status"] == "rolled_back"

    text = api.client.get("/metrics", headers=api.headers("viewer")).text
    decisions = _samples(text, "flagramp_guard_decisions_total")
    assert decisions['decision="healthy",mode="rollback"'] == 1.0
    assert decisions['decision="inconclusive",mode="observe"'] == 1.0
    assert sum(decisions.values()) == 2.0
    assert len(decisions) == 9  # every decision × mode, 0 when none
    harmful = _samples(text, "flagramp_guard_harmful_total")
    assert harmful == {
        'acted="false",action="observe",mode="observe"': 1.0,
        'acted="true",action="disable_all",mode="rollback"': 1.0,
    }
    rollbacks = _samples(text, "flagramp_run_rollbacks_total")
    assert rollbacks == {'kind="killed"': 0.0, 'kind="rolled_back"': 1.0}


def test_log_entries_without_the_fields_count_for_nothing() -> None:
    # A stage left before `guards` was written, and odd documents.
    decisions, harms = guard_counts(
        [
            ("stage_left", '{"phase": 0, "stage": 0, "decision": "passed"}'),
            ("stage_left", '{"guards": [1, {"decision": "healthy", "mode": "pause"}]}'),
            ("guard_harmful", "[]"),
        ]
    )
    assert decisions == {("healthy", "pause"): 1}
    assert not harms
