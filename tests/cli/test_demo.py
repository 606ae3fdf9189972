"""`flagramp demo` on the real engine: the loop, the people and the display."""

from __future__ import annotations

import dataclasses
from pathlib import Path

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
from flagramp.core.clock import VirtualClock
from flagramp.core.flags import Flag
from flagramp.core.plans import load_plan
from flagramp.engine.commands import ReEnable, Vote
from flagramp.engine.run_state import RunStatus
from flagramp.stats.windows import Lane
from flagramp.store import Author, SqlFlagStore

VAOS = Path(__file__).parents[2] / "examples" / "vaos-service-integration.yaml"
#: Where the rollout is over for the demo until the controller computes
#: checkpoints (then COMPLETED only).
_OVER = {RunStatus.COMPLETED, RunStatus.GO_LIVE_WATCHING}


@dataclasses.dataclass
class _Demo:
    engine: EngineOnStore
    store: SqlFlagStore
    windows: RememberedWindows
    updates: list[DemoUpdate]
    rows: list[StageRow]


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
    return _Demo(engine, store, windows, updates, rows)


def _fast(injection: Injection | None) -> DemoSettings:
    return DemoSettings(seed=2, injection=injection, short_span=30, long_span=480)


def test_the_injected_regression_is_rolled_back_where_it_was_injected(
    tmp_path: Path,
) -> None:
    injection = INJECTIONS["errors"]
    demo = _drive(tmp_path, _fast(injection))
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
