"""`flagramp demo`: the loop, the people and the display, on a real store."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from typer.testing import CliRunner

from flagramp.cli.app import app
from flagramp.cli.demo import INJECTIONS, world_for
from flagramp.cli.demo_display import incident_table, summary_table
from flagramp.cli.demo_loop import DEMO_START, DemoSettings, DemoUpdate, StageRow, drive
from flagramp.core.clock import VirtualClock
from flagramp.core.flags import Flag
from flagramp.core.plans import load_plan
from flagramp.engine.commands import ReEnable, SignPrerequisite, Vote
from flagramp.engine.run_state import RunStatus
from flagramp.store import Author, SqlFlagStore
from flagramp.store.windows import WindowStore
from tests.cli.demo_fakes import FakeEngine

VAOS = Path(__file__).parents[2] / "examples" / "vaos-service-integration.yaml"


def _drive(
    tmp_path: Path, settings: DemoSettings
) -> tuple[FakeEngine, list[DemoUpdate], list[StageRow]]:
    text = VAOS.read_text()
    plan = load_plan(text, str(VAOS)).plan
    clock = VirtualClock(DEMO_START)
    store = SqlFlagStore.open(f"sqlite:///{tmp_path / 'demo.db'}", clock=clock)
    windows = WindowStore(store.engine)
    for key in plan.flags:
        store.create_flag(Flag(key=key), Author("test"), plan.environment)
    engine = FakeEngine(store, windows, clock, plan)
    updates: list[DemoUpdate] = []
    _, rows = drive(
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
    return engine, updates, rows


def test_the_injected_regression_is_rolled_back_where_it_was_injected(
    tmp_path: Path,
) -> None:
    injection = INJECTIONS["errors"]
    settings = DemoSettings(seed=2, injection=injection, short_span=30, long_span=240)
    engine, updates, rows = _drive(tmp_path, settings)
    assert engine.state("R1").status is RunStatus.COMPLETED
    rolled = [r for r in rows if r.decision == "rolled back"]
    assert [(r.phase, r.stage) for r in rolled] == [(injection.phase, injection.stage)]
    # Every prerequisite signed by its role's person, a Launch at each go/no-go,
    # one re-enable by the product owner with a root cause.
    signs = [c for c in engine.commands if isinstance(c, SignPrerequisite)]
    assert sorted(c.item for c in signs) == [0, 1, 2, 3]
    assert any(isinstance(c, Vote) for c in engine.commands)
    (approval,) = [c for c in engine.commands if isinstance(c, ReEnable)]
    assert approval.person == "vaos-product-owner@va.gov" and approval.root_cause
    # The re-enable came only after the simulated fix landed.
    fixed = [u for u in updates if u.injected and u.injected.end_minute is not None]
    (rollback,) = [e for e in engine.log if e.kind == "rolled_back"]
    resumed = next(e for e in engine.log if e.seq > rollback.seq)
    assert resumed.actor == approval.person
    assert fixed and fixed[0].now <= resumed.at
    summary = summary_table(engine.plan, rows)
    assert summary.row_count == len(rows) >= 12
    assert incident_table(engine.incidents("R1")).row_count == 1


def test_without_injection_nothing_is_rolled_back(tmp_path: Path) -> None:
    settings = DemoSettings(seed=2, injection=None, short_span=30, long_span=240)
    engine, _, rows = _drive(tmp_path, settings)
    assert engine.state("R1").status is RunStatus.COMPLETED
    assert [r.decision for r in rows] == ["passed"] * 12
    assert not engine.records
    # About 8 virtual days: four phases of 2 h + 2 days, in order.
    assert engine.clock.now() - DEMO_START > dt.timedelta(days=8)


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
