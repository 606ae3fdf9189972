"""bench/sdk.py runs (its quick mode) and its SDK answers agree with core's.

Timings are not asserted here (benchmarks are not timed tests): the figures go to
bench/RESULTS.md from a full run.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).parents[2] / "bench" / "sdk.py"


def test_the_sdk_benchmark_runs_and_prints_every_workload() -> None:
    done = subprocess.run(
        [sys.executable, str(BENCH), "--quick"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr  # it exits if the SDK and core disagree
    rows = [line for line in done.stdout.splitlines() if line.startswith("| W")]
    assert [row.split()[1] for row in rows] == ["W1", "W2", "W3", "W4"]
    assert "W2: sdk median" in done.stdout and "W3: sdk median" in done.stdout
