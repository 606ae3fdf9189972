"""Benchmark: `flagramp demo --plan` on every example plan, full size, timed.

    .venv/bin/python bench/demo_plans.py            # every example, --fast, injected
    .venv/bin/python bench/demo_plans.py --full     # without --fast (slower)
    .venv/bin/python bench/demo_plans.py --no-inject

Each example runs as its own `flagramp demo` process (a fresh store in a
temporary directory), as a person would run it; the figure is its wall time
and what it ended with (the last lines: the injection, the run's status and
virtual days). The baseline, in the same run, is the VAOS plan (`make run`'s):
every other example is also shown as a multiple of it. The suite runs trimmed
copies of the SM and UAE plans (`tests/cli/test_demo_plans.py`); the TMP
promotion plan is refused by the demo in one line (exit 1), which counts as
its expected outcome here.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BASELINE = "vaos-service-integration.yaml"
#: Examples the demo refuses, and the exit code it refuses them with.
REFUSED = {"tmp-deployment.yaml": 1}


def _run(plan: Path, *, fast: bool, inject: bool) -> tuple[float, int, list[str]]:
    flagramp = Path(sys.executable).with_name("flagramp")
    with tempfile.TemporaryDirectory() as out:
        args = [str(flagramp), "demo", "--plan", str(plan), "--out", out]
        args += ["--fast"] if fast else []
        args += [] if inject else ["--no-inject"]
        began = time.perf_counter()
        done = subprocess.run(
            args,
            capture_output=True,
            text=True,
            cwd=ROOT,
            env={**os.environ, "COLUMNS": "200"},
            check=False,
        )
        took = time.perf_counter() - began
    lines = (done.stdout + done.stderr).splitlines()
    said = [
        line.strip()
        for line in lines
        if line.startswith(("injected:", "run ", "error:"))
    ]
    return took, done.returncode, said


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="without --fast")
    parser.add_argument("--no-inject", action="store_true", help="a healthy rollout")
    args = parser.parse_args()
    plans = sorted((ROOT / "examples").glob("*.yaml"))
    plans.sort(key=lambda p: p.name != BASELINE)  # the baseline first
    print(
        f"flagramp demo on {len(plans)} examples "
        f"({'full size' if args.full else '--fast'}, "
        f"{'no injection' if args.no_inject else 'default injection'}); "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    base: float | None = None
    failed = 0
    for plan in plans:
        took, code, said = _run(plan, fast=not args.full, inject=not args.no_inject)
        expected = REFUSED.get(plan.name, 0)
        ok = code == expected
        failed += not ok
        base = took if plan.name == BASELINE else base
        ratio = (
            f" ({took / base:.1f}x baseline)" if base and plan.name != BASELINE else ""
        )
        mark = "ok" if ok else f"FAILED (exit {code}, expected {expected})"
        label = "baseline " if plan.name == BASELINE else ""
        print(f"{label}{plan.name}: {took:.1f} s wall{ratio}, {mark}")
        for line in said:
            print(f"    {line}")
    print("PASS" if not failed else f"FAIL: {failed} examples")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
