"""The database goes away mid-run (a proxy the test cuts) and comes back."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from flagramp.engine.controller import TickReport
from tests.conftest import empty_database
from tests.engine.test_crash_safety import SCENARIOS, _outcome
from tests.faults.conftest import through
from tests.faults.proxy import TcpProxy

#: Statements (of the whole run) at which the database goes away.
CUTS = 6
#: The first half of the scenario (15 days): its first stages, their votes;
#: the whole of it takes twice as long for nothing more about the store.
TICKS = 60


@pytest.fixture
def two_pg_urls(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """Two empty PostgreSQL schemas (`prepare` migrates them)."""
    with (
        empty_database("postgres", tmp_path) as calm,
        empty_database("postgres", tmp_path) as cut,
    ):
        yield calm, cut


def test_a_controller_whose_database_goes_away_loses_no_transition(
    pg_proxy: TcpProxy,
    two_pg_urls: tuple[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The real machine on the UAE example, once undisturbed and once with its
    database cut inside ticks: the cut one retries (its backoff is where the
    database comes back) and ends with the same event log, flags and outbox."""
    scenario = SCENARIOS["real"]
    calm_url, cut_url = two_pg_urls
    for url in two_pg_urls:
        scenario.prepare(url)
    calm = scenario.controller(calm_url)
    statements = [0]

    def count(*_args: object) -> None:
        statements[0] += 1

    calm_tick = calm.tick

    def counted_tick() -> TickReport:
        sa.event.listen(calm.store.engine, "before_cursor_execute", count)
        try:
            return calm_tick()
        finally:
            sa.event.remove(calm.store.engine, "before_cursor_execute", count)

    monkeypatch.setattr(calm, "tick", counted_tick)
    for number in range(1, TICKS + 1):
        scenario.run_tick(calm, number)
    calm.store.engine.dispose()
    expected = _outcome(calm_url)
    kinds = [event[3] for event in expected["events"]]
    assert kinds.count("stage_entered") >= 2, kinds

    rng = random.Random(26)
    cut_at = set(rng.sample(range(10, statements[0] * 9 // 10), CUTS))
    controller = scenario.controller(through(pg_proxy, cut_url))
    seen, cuts, waits, ticking = [0], [0], [0], [False]

    def cut_now(*_args: object) -> None:
        # Only inside the controller's ticks: the people of the scenario act
        # between them, on a database that is there.
        if not ticking[0]:
            return
        seen[0] += 1
        if seen[0] in cut_at:
            cuts[0] += 1
            pg_proxy.cut()

    def backoff(_seconds: float) -> None:
        # The database comes back during the controller's second wait.
        waits[0] += 1
        if waits[0] % 2 == 0:
            pg_proxy.restore()

    tick = controller.tick

    def cut_tick() -> TickReport:
        ticking[0] = True
        try:
            return tick()
        finally:
            ticking[0] = False

    sa.event.listen(controller.store.engine, "before_cursor_execute", cut_now)
    monkeypatch.setattr(controller, "_sleep", backoff)
    monkeypatch.setattr(controller, "tick", cut_tick)
    for number in range(1, TICKS + 1):
        scenario.run_tick(controller, number)
        assert not pg_proxy.is_cut, f"tick {number} ended with the database away"
    controller.store.engine.dispose()
    assert cuts[0] == CUTS
    assert waits[0] >= 2 * CUTS
    assert pg_proxy.refused > 0
    assert _outcome(cut_url) == expected
