"""kill -9 anywhere (issue 26 §4): the server and the controller, killed at
random moments of a virtual-time run on PostgreSQL and restarted, leave what
an uninterrupted run leaves: the same run log (kinds, order, no gaps), flags
and their audit rows, windows, outbox, and each webhook notice accepted once,
signed right. The rig is `kill_rig`; `bench/kills.py` kills 100 times.
"""

from __future__ import annotations

from pathlib import Path

from tests.conftest import empty_database
from tests.engine import kill_rig

KILLS = 20


def test_the_server_and_the_controller_killed_at_random_leave_a_calm_runs_outcome(
    tmp_path: Path,
) -> None:
    # PostgreSQL absent: skipped, or failed under FLAGRAMP_REQUIRE_SERVICES=1.
    with empty_database("postgres", tmp_path / "calm") as url:
        calm = kill_rig.run_rig(url, tmp_path / "calm")
    with empty_database("postgres", tmp_path / "killed") as url:
        killed = kill_rig.run_rig(url, tmp_path / "killed", kills=KILLS, seed=26)

    kinds = [row[3] for row in calm.tables["events"]]
    assert kinds[0] == "run_started"
    assert {"rolled_back", "re_enabled", "completed"} <= set(kinds), kinds
    seqs = [row[1] for row in killed.tables["events"]]
    assert seqs == list(range(1, len(seqs) + 1)), seqs  # no gaps, no repeats
    for table, rows in calm.tables.items():
        assert killed.tables[table] == rows, table

    # Every notice of the outbox reached the receiver, once by its delivery id,
    # with the body the calm run's receiver got, and every request signed right.
    assert len(calm.deliveries) == len(calm.tables["outbox"]) > 0
    assert killed.deliveries == calm.deliveries
    assert calm.badly_signed == killed.badly_signed == 0

    targets = [target for target, _ in killed.figures.kills]
    assert len(targets) == KILLS
    assert targets.count("server") >= 3 and targets.count("controller") >= 3, targets
    print(killed.figures)
