"""The report reads the log the real machine writes (`engine.machine`).

The VAOS plan is driven by the machine in virtual time with hand-made evidence
(`tests/engine/machine_kit.py`), phase II's canary rolled back once; its steps
become a `RunRecord` as the runner would store them. No traffic: the report's
structure, gates, decisions, answers and incident come from the log alone.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from functools import cache

from flagramp.core.severity import Severity
from flagramp.core.types import Json
from flagramp.engine.commands import ReEnable
from flagramp.engine.run_state import RunStatus
from flagramp.engine.steps import Step
from flagramp.reports import (
    ReleaseReport,
    RunEvent,
    RunRecord,
    collect,
    find_placeholders,
    render_markdown,
)
from flagramp.reports.model import StageResults
from tests.engine.machine_kit import Run, harmful, people, reach, vaos
from tests.reports.vaos_run import MemoryWindows


class _TimedRun(Run):
    """A machine run that remembers when each step happened."""

    def apply(self, step: Step) -> Step:
        if not hasattr(self, "times"):
            self.times: list[dt.datetime] = []
        self.times.append(self.now)
        return super().apply(step)

    def record(self) -> RunRecord:
        events: list[RunEvent] = []
        incidents: dict[str, dict[str, Json]] = {}
        for at, step in zip(self.times, self.steps, strict=True):
            for draft in step.events:
                events.append(
                    RunEvent(len(events) + 1, at, draft.kind, draft.actor, draft.data)
                )
            for incident in step.incidents:
                incidents[incident.incident] = incident.record
        return RunRecord(
            run="R1",
            plan_text=(vaos_text()),
            environment="production",
            status=self.state.status.value,
            created_at=self.times[0],
            events=tuple(events),
            incidents=incidents,
            state=self.state.to_json(),
        )


def vaos_text() -> str:
    from tests.engine.machine_kit import EXAMPLES

    return (EXAMPLES / "vaos-service-integration.yaml").read_text()


@cache
def machine_report() -> tuple[ReleaseReport, RunRecord]:
    run = _TimedRun(vaos())
    run.sign_all()
    reach(run, 1, 0)
    run.advance(10, harmful("errors"))
    assert run.status() is RunStatus.ROLLED_BACK
    plan = run.context.plan
    approver = people(plan, "product_owner")[0]
    run.now += dt.timedelta(minutes=30)
    run.do(ReEnable(approver, "Expired VAOS service credentials"))
    run.advance(60 * 24 * 30)
    # A week after go live the first checkpoint falls due.
    assert run.status() in (RunStatus.GO_LIVE_WATCHING, RunStatus.CHECKPOINT_DUE)
    record = run.record()
    return collect(record, MemoryWindows(), as_of=run.now), record


def test_every_stage_the_machine_ran_has_results() -> None:
    report, _ = machine_report()
    for stage in report.stages():
        assert isinstance(stage.results, StageResults), (stage.phase, stage.name)
        for criterion in stage.results.criteria:
            # The decision of the stage's last evaluation, from the state.
            assert criterion.decision == "healthy", criterion
    rolled = report.phases[1].stages[0].results
    assert isinstance(rolled, StageResults)
    assert [p.ended_by for p in rolled.periods] == ["rolled_back", "stage_left"]


def test_votes_land_in_the_gate_they_answer() -> None:
    report, _ = machine_report()
    for phase in report.phases[:3]:
        gate = phase.stages[1].go_no_go
        assert gate is not None and gate.outcome == "go"
        assert [v.role for v in gate.votes] == ["VAOS Product Owner"]
    go_live = report.go_live
    assert go_live is not None and go_live.go_no_go is not None
    roles = {v.role for v in go_live.go_no_go.votes}
    assert roles == {"VAOS Product Owner", "Business Stakeholders"}
    assert isinstance(go_live.went_live_at, dt.datetime)


def test_prerequisites_answers_and_the_incident_come_from_the_log() -> None:
    report, record = machine_report()
    assert all(isinstance(p.signed_by, str) for p in report.prerequisites)
    # Answers are given when a go/no-go asks for them (the kit answers "no").
    gated = report.phases[0].stages[1].results
    assert isinstance(gated, StageResults)
    assert [a.answer for a in gated.answers] == ["no", "no"]
    first = report.phases[0].stages[0].results
    assert isinstance(first, StageResults)
    assert str(first.answers[0].answer) == (
        "not answered yet — VAOS Product Owner (vaos-product-owner@va.gov)"
    )
    (incident,) = report.incidents
    assert incident.severity == Severity.CRITICAL.value
    assert incident.criterion == "errors"
    assert incident.root_cause == "Expired VAOS service credentials"
    whats = [t.what.split(":")[0] for t in incident.timeline]
    assert whats[0] == "detected" and "rolled back" in whats and "re-enabled" in whats
    assert record.incidents["I1"]["trigger"] == "criterion"


def test_the_machines_report_has_no_placeholder() -> None:
    report, _ = machine_report()
    text = render_markdown(report)
    assert find_placeholders(text) == ()
    # No traffic was simulated: the numbers say there is none, in words.
    assert "no data" in text
    week = report.go_live.checkpoints[0] if report.go_live else None
    assert week is not None and week.reached
    assert str(week.unique_users) == "no data in the windows"


def test_a_checkpoint_the_engine_recorded_is_shown_as_recorded() -> None:
    _, record = machine_report()
    result: dict[str, Json] = {
        "checkpoint": "1-week results",
        "unique_users": 41_234.0,
        "kpis": [
            {"name": "errors", "actual": {"value": 0.8}, "status": "met"},
            {"name": "abandonment", "actual": {"value": None}, "status": "no_data"},
        ],
    }
    state: dict[str, Json] = {**record.state, "checkpoints": [result]}
    recorded = dataclasses.replace(record, state=state)
    report = collect(recorded, MemoryWindows(), as_of=record.events[-1].at)
    assert report.go_live is not None
    week = report.go_live.checkpoints[0]
    assert week.unique_users == 41_234.0
    by_name = {k.name: k for k in week.kpis}
    assert (by_name["errors"].actual, by_name["errors"].met) == (0.8, True)
    assert str(by_name["abandonment"].actual) == "no data in the windows"
    assert str(by_name["contact_center_calls"].actual) == (
        "not in the recorded checkpoint"
    )
