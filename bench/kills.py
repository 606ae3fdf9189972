"""kill -9 anywhere, long (issue 26 §4): 100 SIGKILLs of the server and the
controller during virtual-time runs on PostgreSQL.

The rig of `tests/engine/kill_rig.py`: a uvicorn server and a controller
process (both forked from one fork server), events and people's commands over
HTTP, webhooks to a local receiver. First one uninterrupted run (the
baseline), then `--rounds` runs of the same steps, each with `--kills` kills
at seeded random moments (seed = round number): each must leave the
baseline's run log, flags, flag audit rows, windows, outbox and webhook
deliveries. Prints the baseline's and each round's figures.

Command: `.venv/bin/python bench/kills.py [--rounds 5 --kills 20]`
(`--quick`: one round of 5 kills). Needs PostgreSQL at 127.0.0.1:5432.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.conftest import empty_database
from tests.engine import kill_rig


def _same(base: kill_rig.Outcome, got: kill_rig.Outcome) -> list[str]:
    """What differs from the baseline (empty: nothing)."""
    differ = [t for t, rows in base.tables.items() if got.tables[t] != rows]
    if got.deliveries != base.deliveries:
        differ.append("webhook deliveries")
    if got.badly_signed:
        differ.append(f"{got.badly_signed} badly signed webhook requests")
    return differ


def _line(name: str, o: kill_rig.Outcome) -> str:
    f = o.figures
    targets = [t for t, _ in f.kills]
    starts = f.server_starts[1:] or f.server_starts
    return (
        f"{name}: {f.steps} steps in {f.wall_seconds:.1f} s; kills: "
        f"{targets.count('server')} server, {targets.count('controller')} controller; "
        f"server (re)starts {len(f.server_starts)} "
        f"(median {statistics.median(starts):.2f} s, "
        f"first {f.server_starts[0]:.2f} s); controller starts {f.controller_starts}; "
        f"requests retried {f.retried_requests}; ticks repeated {f.repeated_ticks}; "
        f"webhook requests {f.webhook_requests} for {len(o.deliveries)} notices"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    rounds, kills = (1, 5) if args.quick else (args.rounds, args.kills)
    work = Path(tempfile.mkdtemp(prefix="flagramp-kills-"))
    with empty_database("postgres", work / "base") as url:
        base = kill_rig.run_rig(url, work / "base")
    print(_line("baseline (no kills)", base), flush=True)
    failed = 0
    total = 0
    for round_ in range(1, rounds + 1):
        with empty_database("postgres", work / f"r{round_}") as url:
            got = kill_rig.run_rig(url, work / f"r{round_}", kills=kills, seed=round_)
        total += len(got.figures.kills)
        differ = _same(base, got)
        failed += bool(differ)
        print(_line(f"round {round_} (seed {round_})", got), flush=True)
        print(f"  outcome: {differ if differ else 'same as the baseline'}")
    print(f"{total} kills in {rounds} rounds; rounds unlike the baseline: {failed}")
    print("PASS" if failed == 0 else "FAIL")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
