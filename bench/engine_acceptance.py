"""Issue 20's statistical acceptance, long: ≥ 400 healthy and 200 regressed runs.

The three-stage plan of `tests/engine/acceptance_kit.py` (5 %, 25 %, 50 %;
2-hour holds; 2,000 requests a minute; 1 % base errors; one critical
error-rate criterion against control), through the pure machine and
`evaluate_stage`, fixed seeds. Passes when the healthy runs' false rollbacks
are at most α + 3 standard errors and a doubled treatment error rate is rolled
back in the stage where it started in at least 90 % of the regressed runs
(the regression starts in stage 1, 2 and 3 in turn).

Command: `.venv/bin/python bench/engine_acceptance.py [--healthy N --regressed N]`
(`--quick`: 40 and 20).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.engine.acceptance_kit import ALPHA, TICK, summarise


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--healthy", type=int, default=400)
    parser.add_argument("--regressed", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1000)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    healthy, regressed = (40, 20) if args.quick else (args.healthy, args.regressed)
    began = time.perf_counter()
    got = summarise(healthy, regressed, first_seed=args.seed)
    took = time.perf_counter() - began
    minutes = got.minutes_to_rollback
    print(f"runs: {healthy} healthy, {regressed} regressed (seeds from {args.seed})")
    print(
        f"false rollbacks: {got.false_rollbacks}/{got.healthy_runs} = "
        f"{got.false_rate:.4f} (bound α + 3 SE = {got.false_rate_bound:.4f},"
        f" α {ALPHA}); healthy runs through every stage: "
        f"{got.healthy_completed}"
    )
    print(
        f"doubled error rate caught in its stage: {got.caught_in_stage}/"
        f"{got.regressed_runs} = {got.caught_share:.3f} (needed ≥ 0.9)"
    )
    if minutes:
        p90 = minutes[min(len(minutes) - 1, int(0.9 * len(minutes)))]
        print(
            f"minutes from regression to rollback (looks every {TICK} min): "
            f"median {statistics.median(minutes):g}, p90 {p90}, max {minutes[-1]}"
        )
    print(f"took {took:.1f} s")
    ok = got.false_rate <= got.false_rate_bound and got.caught_share >= 0.9
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
