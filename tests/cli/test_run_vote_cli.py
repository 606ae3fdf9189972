"""`flagramp run approve` on the real machine: the same vote given again (a
retried command) answers as the first and writes nothing; a changed one is
recorded. The run is brought to its go/no-go in virtual time, ending before
the wall clock the CLI's votes are taken at."""

from __future__ import annotations

import datetime as dt
import json

from flagramp.core.clock import VirtualClock
from flagramp.engine.commands import SignPrerequisite
from flagramp.engine.controller import Controller
from flagramp.engine.service import RunService
from flagramp.store import Author, SqlFlagStore
from flagramp.store.windows import WindowStore
from tests.cli.conftest import Invoke, store_state
from tests.engine.run_support import healthy
from tests.server.routes.run_plan import ENG, PLAN, PO


def _at_the_go_no_go(store: SqlFlagStore) -> None:
    clock = VirtualClock(dt.datetime.now(dt.UTC) - dt.timedelta(hours=3))
    with store.unit_of_work(Author("setup")) as unit:
        unit.record("production", "environment", "production", "create", None, {})
    windows = WindowStore(store.engine)
    service = RunService(store, windows, clock)
    run = service.start(PLAN, person=ENG).id
    service.command(run, SignPrerequisite(ENG, 0))
    controller = Controller(store, windows, clock, evaluate=healthy, send=None)
    controller.tick()
    clock.advance(dt.timedelta(hours=1, minutes=5))
    controller.tick()
    assert service.reader.load(run).status == "awaiting_go_no_go"


def _voted(cli: Invoke) -> list[tuple[int, str]]:
    log = json.loads(cli("run", "log", "R1", "--json").stdout)
    return [(e["seq"], e["data"]["comment"]) for e in log if e["kind"] == "voted"]


def test_run_approve_given_twice_answers_the_same_and_records_one_vote(
    cli: Invoke, store: SqlFlagStore
) -> None:
    _at_the_go_no_go(store)
    vote = ("run", "approve", "R1", "--role", "eng", "--launch", "--as", ENG)
    first = cli(*vote, "--comment", "ok")
    assert first.exit_code == 0, first.output
    written = store_state(store)
    again = cli(*vote, "--comment", "ok")
    assert again.exit_code == 0, again.output
    assert again.stdout == first.stdout  # "run R1 at version N"
    assert store_state(store) == written  # no version, no audit row
    assert len(_voted(cli)) == 1
    changed = cli(*vote, "--comment", "ok, dashboards too")
    assert changed.exit_code == 0, changed.output
    assert changed.stdout != first.stdout
    assert [comment for _, comment in _voted(cli)] == ["ok", "ok, dashboards too"]
    shown = json.loads(cli("run", "show", "R1", "--json").stdout)
    assert shown["status"] == "awaiting_go_no_go"
    assert PO in shown["waiting_for"] and ENG not in shown["waiting_for"]
