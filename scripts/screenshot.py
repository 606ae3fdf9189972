"""Make docs/img/dashboard-run.png: the dashboard's page of a demo run.

Runs `flagramp demo --serve --fast --pace 0` in a process of its own (a fresh
store in a temporary folder), reads the dashboard URL and the viewer's token
it prints, logs in with Debian's chromium through Playwright, and saves the
run page at the first stage whose guards have an evaluation to show (the
demo is paced so that one is caught), then stops the demo with SIGINT.

    .venv/bin/python scripts/screenshot.py [--out docs/img/dashboard-run.png]
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

CHROMIUM = "/usr/bin/chromium"
ROOT = Path(__file__).resolve().parents[1]
_URL = re.compile(r"dashboard: (http://127\.0\.0\.1:\d+)/dashboard/login")
_TOKEN = re.compile(r"log in with this token \(a viewer, .*\): (frp_\S+)")
_FLAGRAMP = (sys.executable, "-c", "from flagramp.cli.app import main; main()")
#: Real seconds per turn of the demo: slow enough to catch a running stage.
_PACE = "0.4"
#: Seconds to wait in the stage before the picture is taken.
_SETTLE = 2.5


def _read_until(process: subprocess.Popen[str], marker: str, seconds: float) -> str:
    """The process's output up to and including the line holding `marker`."""
    assert process.stdout is not None
    seen: list[str] = []
    deadline = time.monotonic() + seconds
    for line in process.stdout:
        seen.append(line)
        if marker in line:
            return "".join(seen)
        if time.monotonic() > deadline:
            break
    raise SystemExit(f"the demo never printed {marker!r}:\n{''.join(seen)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs/img/dashboard-run.png")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="flagramp-shot-") as work:
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "COLUMNS": "120"}
        env.pop("FLAGRAMP_DATABASE_URL", None)
        demo = subprocess.Popen(
            [*_FLAGRAMP, "demo", "--serve", "--fast", "--pace", _PACE, "--out", work],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
            env=env,
            cwd=ROOT,
        )
        try:
            printed = _read_until(demo, "log in with this token", 120)
            url_found, token_found = _URL.search(printed), _TOKEN.search(printed)
            assert url_found and token_found, printed
            url, token = url_found.group(1), token_found.group(1)
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path=CHROMIUM, headless=True
                )
                page = browser.new_page(viewport={"width": 1200, "height": 900})
                page.goto(f"{url}/dashboard/login")
                page.get_by_label("API token").fill(token)
                page.get_by_role("button", name="Log in").click()
                page.wait_for_url("**/dashboard/runs")
                deadline = time.monotonic() + 300
                while time.monotonic() < deadline:
                    page.goto(f"{url}/dashboard/runs/R1")
                    text = page.content()
                    if "No evaluation yet" not in text and "Stage B" in text:
                        # A few more turns: each guard's chart gets some points.
                        time.sleep(_SETTLE)
                        page.goto(f"{url}/dashboard/runs/R1")
                        break
                    time.sleep(0.5)
                args.out.parent.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(args.out), full_page=False)
                browser.close()
            print(f"wrote {args.out}")
        finally:
            demo.send_signal(signal.SIGINT)
            try:
                demo.wait(30)
            except subprocess.TimeoutExpired:
                demo.kill()


if __name__ == "__main__":
    main()
