"""`flagramp plan start`, `run …`, `controller` and `events push` end to end.

The machine is built elsewhere: these tests put a small scripted machine in its
place, so what is checked is the shell (arguments, output, one-line errors) and
the service below it (one unit of work per command, the lease, the windows).
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from flagramp.core.flags import Percentage
from flagramp.engine import commands as cmds
from flagramp.engine import machine
from flagramp.engine.commands import CommandRefused
from flagramp.engine.evaluation import Observation
from flagramp.engine.machine import RunContext
from flagramp.engine.run_state import RunState, RunStatus
from flagramp.engine.steps import RunEventDraft, Step
from flagramp.store import SqlFlagStore
from flagramp.store.windows import WindowStore
from tests.cli.conftest import Invoke, assert_one_error
from tests.engine.run_support import (
    EXAMPLES,
    UAE,
    UAE_FLAG,
    FakeState,
    move,
    state,
)

ON_CALL = "uae-on-call@va.gov"


def _start(ctx: RunContext, now: dt.datetime) -> Step:
    return Step(
        state=state(RunStatus.WAITING_PREREQUISITES, None, now),
        events=(RunEventDraft("run_started", None, {"plan": ctx.plan.name}),),
    )


def _tick(ctx: RunContext, st: RunState, now: dt.datetime, obs: Observation) -> Step:
    if st.status is RunStatus.WAITING_PREREQUISITES:
        return Step(
            state=state(RunStatus.STAGE_RUNNING, 0, now),
            events=(RunEventDraft("stage_entered", None, {}),),
            flag_moves=(move(1),),
        )
    return Step(st)


def _command(
    ctx: RunContext, st: RunState, now: dt.datetime, cmd: cmds.Command
) -> Step:
    people = {p for role in ctx.plan.roles.values() for p in role.people}
    if cmd.person not in people:
        raise CommandRefused(
            f"{cmd.person} holds no role in the plan", code="not_your_role"
        )
    if isinstance(cmd, cmds.Kill):
        return Step(
            state=state(RunStatus.ROLLED_BACK, st.stage, now),
            events=(RunEventDraft("killed", cmd.person, {"note": cmd.note}),),
            flag_moves=(move(0, reason="killed"),),
        )
    return Step(
        state=state(RunStatus.PAUSED, st.stage, now),
        events=(RunEventDraft("paused", cmd.person, {}),),
    )


@pytest.fixture(autouse=True)
def scripted_machine(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(machine, "start", _start)
    monkeypatch.setattr(machine, "tick", _tick)
    monkeypatch.setattr(machine, "command", _command)
    monkeypatch.setattr(RunState, "from_json", FakeState.load)


def _json(cli: Invoke, *args: str) -> Any:
    result = cli(*args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_a_run_starts_moves_on_a_controller_tick_and_is_killed_by_on_call(
    cli: Invoke, store: SqlFlagStore
) -> None:
    started = cli("plan", "start", str(EXAMPLES / UAE), "--as", "alice@va.gov")
    assert started.exit_code == 0, started.output
    assert "started run R1 of uae-appointments-dark-deploy" in started.stdout
    [listed] = _json(cli, "run", "list")
    assert (listed["run"], listed["status"]) == ("R1", "waiting_prerequisites")
    tick = _json(cli, "controller", "--once")
    assert tick == {
        "at": tick["at"],
        "runs": 1,
        "applied": {"R1": 2},
        "conflicts": [],
        "failed": {},
        "backups": [],
        "batch_keys_deleted": 0,
        "delivered": 0,
    }
    assert store.require_flag(UAE_FLAG).percentage_of_actors == Percentage.parse(1)
    shown = _json(cli, "run", "show", "R1")
    assert shown["status"] == "stage_running"
    assert shown["stage"] == "Canary 1%"
    killed = cli("run", "kill", "R1", "--as", ON_CALL, "-m", "errors on the dashboard")
    assert killed.exit_code == 0, killed.output
    assert f"flags set: {UAE_FLAG}" in killed.stdout
    assert store.require_flag(UAE_FLAG).state == "off"
    log = _json(cli, "run", "log", "R1")
    assert [(e["kind"], e["actor"]) for e in log] == [
        ("run_started", None),
        ("stage_entered", None),
        ("flag_set", None),
        ("killed", ON_CALL),
        ("flag_set", ON_CALL),
    ]
    # the kill's flag change is audited under the person who pulled the switch
    assert store.history(UAE_FLAG)[-1].actor == ON_CALL


def test_a_refused_command_is_one_line_and_writes_nothing(
    cli: Invoke, store: SqlFlagStore
) -> None:
    cli("plan", "start", str(EXAMPLES / UAE))
    before = store.version()
    result = cli("run", "pause", "R1", "--as", "mallory@example.com")
    assert_one_error(result, "mallory@example.com holds no role in the plan")
    assert store.version() == before


def test_an_unknown_run_and_an_invalid_plan_are_one_line_errors(
    cli: Invoke, tmp_path: Path
) -> None:
    assert_one_error(cli("run", "show", "R7"), "no run 'R7'")
    broken = tmp_path / "broken.yaml"
    broken.write_text("name: x\nphases: 3\n")
    assert_one_error(cli("plan", "start", str(broken)), "problem(s), first:")
    assert_one_error(
        cli("run", "approve", "R1", "--role", "po", "--launch", "--pause"),
        "exactly one of --launch, --pause or --pivot",
    )


def test_pushed_events_land_in_the_runs_windows_once_per_batch_key(
    cli: Invoke, store: SqlFlagStore, tmp_path: Path
) -> None:
    cli("plan", "start", str(EXAMPLES / UAE))
    now = dt.datetime.now(dt.UTC).isoformat()
    lines = [
        {"type": "exposure", "at": now, "actor": f"u{i}", "flag": UAE_FLAG,
         "variant": "on" if i % 2 else "off", "environment": "production"}
        for i in range(10)
    ]  # fmt: skip
    lines.append({"type": "exposure", "at": "not a time", "actor": "x"})
    pushed = tmp_path / "events.jsonl"
    pushed.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    # before its first stage, a run's events are its phase's baseline period
    target = f"R1/p0/pre {UAE_FLAG}"
    first = _json(cli, "events", "push", "R1", str(pushed), "--batch-key", "b-1")
    assert list(first) == [target]
    assert first[target]["exposures"] == 10
    assert len(first[target]["rejected"]) == 1
    again = _json(cli, "events", "push", "R1", str(pushed), "--batch-key", "b-1")
    assert again[target]["duplicate"] is True
    windows = WindowStore(store.engine).windows("R1/p0/pre", UAE_FLAG)
    assert windows
    assert sum(w.exposed.total_numerator for w in windows) == pytest.approx(10)


def test_the_controller_command_says_a_wrong_period_in_one_line(
    cli: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FLAGRAMP_BATCH_KEY_RETENTION_DAYS", "a week")
    assert_one_error(cli("controller", "--once"), "FLAGRAMP_BATCH_KEY_RETENTION_DAYS")
