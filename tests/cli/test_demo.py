"""`flagramp demo` on the real engine: the loop, the people and the display."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from flagramp.cli.app import app
from flagramp.cli.demo import INJECTIONS, world_for
from flagramp.cli.demo_display import incident_table, summary_table
from flagramp.cli.demo_engine import EngineOnStore, RememberedWindows
from flagramp.cli.demo_loop import (
    DEMO_START,
    DemoSettings,
    DemoUpdate,
    Injection,
    StageRow,
    drive,
)
from flagramp.cli.demo_people import DEMO_ANSWER
from flagramp.cli.demo_reports import write_reports
from flagramp.core.clock import VirtualClock
from flagramp.core.flags import Flag
from flagramp.core.plans import load_plan
from flagramp.engine.checkpoint_result import QuestionStatus
from flagramp.engine.commands import ReEnable, Vote
from flagramp.engine.run_state import RunStatus
from flagramp.reports import find_placeholders
from flagramp.stats.windows import Lane
from flagramp.store import Author, SqlFlagStore

VAOS = Path(__file__).parents[2] / "examples" / "vaos-service-integration.yaml"
#: Where the demo ends: through go live and both checkpoints.
_OVER = {RunStatus.COMPLETED}


@dataclasses.dataclass
class _Demo:
    engine: EngineOnStore
    store: SqlFlagStore
    windows: RememberedWindows
    updates: list[DemoUpdate]
    rows: list[StageRow]
    clock: VirtualClock


def _drive(tmp_path: Path, settings: DemoSettings) -> _Demo:
    text = VAOS.read_text()
    plan = load_plan(text, str(VAOS)).plan
    clock = VirtualClock(DEMO_START)
    store = SqlFlagStore.open(f"sqlite:///{tmp_path / 'demo.db'}", clock=clock)
    windows = RememberedWindows(store.engine)
    for key in plan.flags:
        store.create_flag(Flag(key=key), Author("test"), plan.environment)
    engine = EngineOnStore(store, windows, clock)
    updates: list[DemoUpdate] = []
    run, rows = drive(
        engine,
        store,
        windows,
        clock,
        plan,
        text,
        str(VAOS),
        world_for(plan, fast=True),
        settings,
        updates.append,
    )
    assert run == "R1"
    return _Demo(engine, store, windows, updates, rows, clock)


def _fast(injection: Injection | None) -> DemoSettings:
    return DemoSettings(seed=2, injection=injection, short_span=30, long_span=480)


@pytest.fixture(scope="module")
def injected(tmp_path_factory: pytest.TempPathFactory) -> _Demo:
    """One fast demo run with the default injection, shared by the tests that
    read it (a run costs about 30 s)."""
    return _drive(tmp_path_factory.mktemp("demo"), _fast(INJECTIONS["errors"]))


def test_the_injected_regression_is_rolled_back_where_it_was_injected(
    injected: _Demo,
) -> None:
    injection = INJECTIONS["errors"]
    demo = injected
    engine = demo.engine
    assert engine.state("R1").status in _OVER
    rolled = [r for r in demo.rows if r.decision == "rolled back"]
    assert [(r.phase, r.stage) for r in rolled] == [(injection.phase, injection.stage)]
    commands = [c for u in demo.updates for c in u.commands]
    log = engine.events("R1", 0)
    kinds = [e.kind for e in log]
    # Every prerequisite signed by its role's person, a Launch at each go/no-go,
    # one re-enable by the product owner with a root cause.
    signers = [e.actor for e in log if e.kind == "prerequisite_signed"]
    assert signers == [
        "hsrm-team@va.gov",
        "vaos-service-team@va.gov",
        "vaos-business-stakeholders@va.gov",
        "vaos-product-owner@va.gov",
    ]
    assert any(isinstance(c, Vote) for c in commands)
    assert kinds.count("go_no_go_passed") == 6
    (approval,) = [c for c in commands if isinstance(c, ReEnable)]
    assert approval.person == "vaos-product-owner@va.gov" and approval.root_cause
    # The plan's critical rule turned the flag off, the traffic followed the
    # store (no treatment exposure in the off scope) and the rollback verified.
    (rollback,) = [e for e in log if e.kind == "rolled_back"]
    assert kinds.index("rollback_verified") > kinds.index("rolled_back")
    phase_flag = "va_online_scheduling_vaos_service_cc_appointments"
    off = demo.windows.windows(_off_scope(demo), phase_flag)
    assert off and all(
        w.exposed.total_denominator == 0
        for w in (w for w in off if w.key.lane is Lane.ON)
    )
    # The re-enable came only after the simulated fix landed.
    (re_enabled,) = [e for e in log if e.kind == "re_enabled"]
    assert re_enabled.actor == approval.person
    fixed = [u for u in demo.updates if u.injected and u.injected.end_minute]
    assert fixed and fixed[0].now <= re_enabled.at
    assert rollback.seq < re_enabled.seq
    (incident,) = engine.incidents("R1")
    assert incident["criterion"] == "errors" and incident["action"] == "disable_all"
    assert incident_table(engine.incidents("R1")).row_count == 1
    plan = load_plan(VAOS.read_text(), str(VAOS)).plan
    assert summary_table(plan, demo.rows).row_count == len(demo.rows) == 14
    # Re-enabled at the previous stage (the plan's `resume_at`), then onwards.
    after = demo.rows[demo.rows.index(rolled[0]) + 1 :][:3]
    assert [(r.phase, r.stage) for r in after] == [(2, 0), (2, 1), (2, 2)]
    # Each stage attempt read its own scope: users first exposed there.
    scopes = {run for run, _ in demo.windows.written()}
    assert sum("/s1/" in s and "/p2/" in s for s in scopes) == 2


def test_the_run_completes_through_both_checkpoints(injected: _Demo) -> None:
    state = injected.engine.state("R1")
    assert state.status is RunStatus.COMPLETED
    assert [c.checkpoint for c in state.checkpoints] == [
        "1-week results",
        "1-month results",
    ]
    week, month = state.checkpoints
    # Each checkpoint read the go-live scope up to its own end: a week, a month.
    assert week.end_minute - week.start_minute == 7 * 24 * 60
    assert month.data_end is not None and month.data_end <= month.end_minute
    assert 0 < week.unique_users < month.unique_users
    for result in state.checkpoints:
        kpis = {k.name: k for k in result.kpis}
        assert set(kpis) == {"abandonment", "contact_center_calls", "errors"}
        # The go-live scope held the environment's calls: a count, not no data.
        assert kpis["contact_center_calls"].actual.value is not None
        assert kpis["errors"].actual.value is not None
        for q in result.questions:
            if q.query is None:
                # People's questions: answered by the demo's people, marked so.
                assert q.status is QuestionStatus.ANSWERED
                assert q.answer is not None and DEMO_ANSWER in q.answer
    (completed,) = [e for e in injected.engine.events("R1", 0) if e.kind == "completed"]
    assert completed.data["unanswered"] == []


def test_the_reports_have_numbers_in_every_stage_and_no_placeholders(
    injected: _Demo, tmp_path: Path
) -> None:
    written = write_reports("R1", injected.windows, tmp_path, injected.clock.now())
    names = sorted(w.path.name for w in written)
    assert names == [
        "incident-I1.md",
        "kpi-1mo.md",
        "kpi-1w.md",
        "release-report.html",
        "release-report.md",
    ]
    for w in written:
        assert w.path.is_file() and w.path.stat().st_size > 0
        html = w.path.suffix == ".html"
        assert find_placeholders(w.path.read_text(), html=html) == ()
        assert w.placeholders == ()
    markdown = (tmp_path / "release-report.md").read_text()
    stages = re.split(r"^### Stage ", markdown, flags=re.M)[1:]
    assert len(stages) == 12
    for section in stages:
        results = section.split("#### Results", 1)[1]
        results = results.split("\n## ", 1)[0]
        assert re.search(r"Unique users: [\d,]+ in treatment", results), section[:40]
        assert re.search(r"\| [\d.,]+ % \|", results), section[:40]
    # The post-launch questions were answered at the last checkpoint.
    post = markdown.split("## Post-launch Questions", 1)[1]
    assert "not answered yet" not in post and DEMO_ANSWER in post
    week = (tmp_path / "kpi-1w.md").read_text()
    assert re.search(r"Number of unique users: [1-9][\d,]*", week)
    assert "| VAOS service error rate | below 5 % |" in week
    assert (
        "Root cause: Simulated regression" in (tmp_path / "incident-I1.md").read_text()
    )


def _off_scope(demo: _Demo) -> str:
    scopes = {run for run, _ in demo.windows.written()}
    (off,) = [s for s in scopes if "/off/" in s]
    return off


def test_without_injection_nothing_is_rolled_back(tmp_path: Path) -> None:
    demo = _drive(tmp_path, _fast(None))
    assert demo.engine.state("R1").status in _OVER
    assert [r.decision for r in demo.rows] == ["passed"] * 12
    assert not demo.engine.incidents("R1")
    assert "rolled_back" not in {e.kind for e in demo.engine.events("R1", 0)}


def test_a_plan_with_an_error_exits_1_and_creates_nothing(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(VAOS.read_text().replace("owner: eng_lead", "owner: nobody"))
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["demo", "--plan", str(bad), "--out", str(out)])
    assert result.exit_code == 1
    assert "nobody" in result.output
    assert not out.exists()


def test_an_unknown_injection_is_refused(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["demo", "--inject", "gremlins", "--out", str(tmp_path / "out")]
    )
    assert result.exit_code == 1
    assert "errors, abandonment" in result.output
