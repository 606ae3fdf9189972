"""A controller killed at random instants and restarted ends exactly where an
uninterrupted one ends: same event log, flags, incidents and outbox.

The controller runs in a forked child (forked, not spawned: a fresh Python
needs seconds to import SciPy on a busy machine, and the kills must land inside
ticks, not inside imports). The child ticks minute after minute of virtual time
and notes each finished minute in a progress file, which is not part of the
store's transaction: a child killed after a commit and before its note repeats
that minute, which the controller makes a no-op (a tick decides until the run
settles). The parent kills it with SIGKILL after a random delay, again and
again, until the last minute is done.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
import os
import random
import signal
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa

from flagramp.core.clock import VirtualClock
from flagramp.engine.controller import Controller
from flagramp.engine.evaluation import DataHealth, StageEvaluation
from flagramp.engine.notifications.webhooks import WebhookFormat, add_webhook
from flagramp.engine.run_state import RunState, RunStatus
from flagramp.engine.service import RunService
from flagramp.store import SqlFlagStore
from flagramp.store.database import open_engine
from flagramp.store.notification_tables import notification_outbox
from flagramp.store.run_tables import run_events, run_incidents, runs
from flagramp.store.tables import flags
from flagramp.store.windows import WindowStore
from tests.conftest import migrated_database
from tests.engine import crash_machine
from tests.engine.run_support import (
    CONTROLLER,
    PO,
    T0,
    FakeState,
    healthy,
    launch,
    plan_text,
    start_run,
)

KILLS = 20


def _evaluate(*_args: object, minute: int, **_kwargs: object) -> StageEvaluation:
    return StageEvaluation(minute, (), 0, 0, 0, 0, None, DataHealth())


@dataclass(frozen=True)
class Scenario:
    """What the killed controller runs: `ticks` ticks `step` apart, and what
    people do after each tick (deterministic, from the stored state)."""

    ticks: int
    step: dt.timedelta
    machine: str

    def controller(self, url: str) -> Controller:
        clock = VirtualClock(T0)
        engine = open_engine(url, migrate=False)
        store = SqlFlagStore(engine, clock)
        if self.machine == "scripted":
            return Controller(
                store,
                WindowStore(engine),
                clock,
                tick=crash_machine.tick,
                load_state=FakeState.load,
                evaluate=_evaluate,
                send=None,
            )
        return Controller(
            store, WindowStore(engine), clock, evaluate=healthy, send=None
        )

    def prepare(self, url: str) -> None:
        store = SqlFlagStore(open_engine(url), VirtualClock(T0))
        with store.unit_of_work(CONTROLLER) as unit:
            add_webhook(
                unit,
                "production",
                "http://127.0.0.1:9/hook",
                format=WebhookFormat.JSON,
                secret="s3cret-of-sixteen-chars",
                at=T0,
            )
        if self.machine == "scripted":
            start_run(store)
        else:
            service = RunService(store, WindowStore(store.engine), store.clock)
            service.start(plan_text(), person=PO, file="uae.yaml")
        store.engine.dispose()

    def run_tick(self, controller: Controller, tick: int) -> None:
        clock = controller.clock
        assert isinstance(clock, VirtualClock)
        clock.current = T0 + tick * self.step
        controller.tick()
        if self.machine == "real":
            service = RunService(controller.store, controller.windows, clock)
            state = RunState.from_json(service.show("R1").row.state)
            if state.status is RunStatus.AWAITING_GO_NO_GO:
                launch(service, state)


SCENARIOS = {
    "scripted": Scenario(30, dt.timedelta(minutes=1), "scripted"),
    # the UAE example with the real machine, every 6 hours: four stages with
    # their go/no-go votes, to its manual phase
    "real": Scenario(120, dt.timedelta(hours=6), "real"),
}


def _progress(path: Path) -> int:
    done = path.read_text().split() if path.exists() else []
    return int(done[-1]) if done else 0


def _count_statements(engine: sa.Engine, kill_at: int) -> list[int]:
    """Count the engine's statements; at the `kill_at`-th (0: never), the
    process kills itself with SIGKILL, as `kill -9` would, before it runs."""
    seen = [0]

    def count(*_args: object) -> None:
        seen[0] += 1
        if seen[0] == kill_at:
            os.kill(os.getpid(), signal.SIGKILL)

    sa.event.listen(engine, "before_cursor_execute", count)
    return seen


def _child(scenario: str, url: str, progress: str, kill_at: int) -> None:
    """Tick from the tick after the last one noted, to the end (or until the
    `kill_at`-th statement)."""
    chosen = SCENARIOS[scenario]
    path = Path(progress)
    controller = chosen.controller(url)
    _count_statements(controller.store.engine, kill_at)
    for tick in range(_progress(path) + 1, chosen.ticks + 1):
        chosen.run_tick(controller, tick)
        with path.open("a") as out:
            out.write(f"{tick}\n")
    os._exit(0)


def _outcome(url: str) -> dict[str, list[tuple[object, ...]]]:
    engine = open_engine(url, migrate=False)
    chosen = {
        "events": sa.select(run_events).order_by(run_events.c.seq),
        "runs": sa.select(runs),
        "incidents": sa.select(run_incidents),
        "flags": sa.select(flags.c.key, flags.c.state, flags.c.version),
        "outbox": sa.select(
            notification_outbox.c.notice_key,
            notification_outbox.c.destination,
            notification_outbox.c.notice,
        ).order_by(notification_outbox.c.notice_key),
    }
    try:
        with engine.connect() as conn:
            return {
                name: [tuple(r) for r in conn.execute(q)] for name, q in chosen.items()
            }
    finally:
        engine.dispose()


@pytest.fixture
def two_urls(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[str, str]]:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    with (
        migrated_database(request, tmp_path / "a") as calm,
        migrated_database(request, tmp_path / "b") as killed,
    ):
        yield calm, killed


# The scripted machine once (it pins the same-instant chain); the real one on
# both backends the issue names.
@pytest.mark.parametrize(
    ("two_urls", "scenario"),
    [("sqlite", "scripted"), ("sqlite", "real"), ("postgres", "real")],
    indirect=["two_urls"],
)
def test_a_controller_killed_at_random_points_ends_as_an_uninterrupted_one(
    scenario: str, two_urls: tuple[str, str], tmp_path: Path
) -> None:
    chosen = SCENARIOS[scenario]
    calm, killed = two_urls
    for url in two_urls:
        chosen.prepare(url)
    controller = chosen.controller(calm)
    statements = _count_statements(controller.store.engine, 0)
    per_tick = []
    for tick in range(1, chosen.ticks + 1):
        before = statements[0]
        chosen.run_tick(controller, tick)
        per_tick.append(statements[0] - before)
    controller.store.engine.dispose()
    expected = _outcome(calm)
    last = [e[3] for e in expected["events"]][-1]
    assert last in ("completed", "manual_phase_started"), last
    # Kill points spread over the whole run: statement numbers of the calm
    # run, each turned into a count within the life that reaches it (a life
    # restarts at the first tick not noted; before it, the calm run had made
    # `done[tick]` statements). A point already passed (a restart repeats a
    # tick) becomes a random one early in the new life.
    done = [sum(per_tick[:tick]) for tick in range(chosen.ticks + 1)]
    rng = random.Random(20)
    # A few more points than KILLS, within the first 90 %: a point past the
    # statements a life still has to run is a kill that never comes.
    points = sorted(rng.sample(range(1, statements[0] * 9 // 10), KILLS + 4))
    progress = tmp_path / "progress"
    forking = multiprocessing.get_context("fork")
    kills: list[int] = []
    while _progress(progress) < chosen.ticks:
        if len(kills) < len(points):
            kill_at = points[len(kills)] - done[_progress(progress)]
            if kill_at < 1:
                kill_at = rng.randint(1, max(per_tick) + 5)
        else:
            kill_at = 0
        child = forking.Process(
            target=_child, args=(scenario, killed, str(progress), kill_at)
        )
        child.start()
        child.join(120)
        assert child.exitcode in (0, -signal.SIGKILL), child.exitcode
        if child.exitcode == -signal.SIGKILL:
            kills.append(_progress(progress))
    assert len(kills) >= KILLS
    # the kills fell all along the run, not only before its first tick
    assert len(set(kills)) > 5, kills
    print(f"{statements[0]} statements; killed after ticks {kills}")
    assert _outcome(killed) == expected
