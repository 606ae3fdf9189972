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
from pathlib import Path

import pytest
import sqlalchemy as sa

from flagramp.core.clock import VirtualClock
from flagramp.engine.controller import Controller
from flagramp.engine.evaluation import DataHealth, StageEvaluation
from flagramp.engine.notifications.webhooks import WebhookFormat, add_webhook
from flagramp.store import SqlFlagStore
from flagramp.store.database import open_engine
from flagramp.store.notification_tables import notification_outbox
from flagramp.store.run_tables import run_events, run_incidents, runs
from flagramp.store.tables import flags
from flagramp.store.windows import WindowStore
from tests.conftest import migrated_database
from tests.engine import crash_machine
from tests.engine.run_support import CONTROLLER, T0, FakeState, start_run

MINUTES = 30
KILLS = 20
#: A life of the killed controller runs at most this many statements: more
#: than any one transition takes (about 50), fewer than a whole run (about 400).
LIFE_STATEMENTS = 55


def _evaluate(*_args: object, minute: int, **_kwargs: object) -> StageEvaluation:
    return StageEvaluation(minute, (), 0, 0, 0, 0, None, DataHealth())


def _controller(url: str, minute: int) -> Controller:
    clock = VirtualClock(T0 + dt.timedelta(minutes=minute))
    engine = open_engine(url, migrate=False)
    store = SqlFlagStore(engine, clock)
    return Controller(
        store,
        WindowStore(engine),
        clock,
        tick=crash_machine.tick,
        load_state=FakeState.load,
        evaluate=_evaluate,
        send=None,
    )


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


def _child(url: str, progress: str, kill_at: int) -> None:
    """Tick from the minute after the last one noted, to the end (or until the
    `kill_at`-th statement)."""
    path = Path(progress)
    controller = _controller(url, 0)
    _count_statements(controller.store.engine, kill_at)
    clock = controller.clock
    assert isinstance(clock, VirtualClock)
    for minute in range(_progress(path) + 1, MINUTES + 1):
        clock.current = T0 + dt.timedelta(minutes=minute)
        controller.tick()
        with path.open("a") as out:
            out.write(f"{minute}\n")
    os._exit(0)


def _prepare(url: str) -> None:
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
    start_run(store)
    store.engine.dispose()


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


@pytest.fixture(params=["sqlite", "postgres"])
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


def test_a_controller_killed_at_random_points_ends_as_an_uninterrupted_one(
    two_urls: tuple[str, str], tmp_path: Path
) -> None:
    calm, killed = two_urls
    for url in two_urls:
        _prepare(url)
    controller = _controller(calm, 0)
    statements = _count_statements(controller.store.engine, 0)
    clock = controller.clock
    assert isinstance(clock, VirtualClock)
    for minute in range(1, MINUTES + 1):
        clock.current = T0 + dt.timedelta(minutes=minute)
        controller.tick()
    controller.store.engine.dispose()
    expected = _outcome(calm)
    assert [e[3] for e in expected["events"]][-1] == "completed"

    # Each life of the killed controller dies at a random statement (inside a
    # transition, between two, before a commit, after one and before the
    # progress note); lives are short, so the kills fall all along the run.
    rng = random.Random(20)
    progress = tmp_path / "progress"
    forking = multiprocessing.get_context("fork")
    kills: list[int] = []
    while _progress(progress) < MINUTES:
        kill_at = rng.randint(1, LIFE_STATEMENTS) if len(kills) < KILLS else 0
        child = forking.Process(target=_child, args=(killed, str(progress), kill_at))
        child.start()
        child.join(120)
        assert child.exitcode in (0, -signal.SIGKILL), child.exitcode
        if child.exitcode == -signal.SIGKILL:
            kills.append(_progress(progress))
    assert len(kills) >= KILLS
    # the kills fell all along the run, not only before its first minute
    assert len(set(kills)) > 5, kills
    print(f"{statements[0]} statements; killed after minutes {kills}")
    assert _outcome(killed) == expected
