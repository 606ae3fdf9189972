"""`flagramp demo-live`'s stack, for real: the server, the example app under
uvicorn and its load script as processes on loopback, the app's SDK events
arriving through the server's events endpoint in the run's current windows,
and every process gone afterwards. (The whole plan takes over two minutes; it
is `flagramp demo-live` itself, see examples/app/README.md.)"""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from flagramp.cli.demo_live import APP_DIR, LiveOptions, live_stack
from flagramp.engine.promotion_state import load_run_state
from flagramp.engine.scopes import current_scope


def test_the_apps_events_reach_the_runs_current_windows(tmp_path: Path) -> None:
    options = LiveOptions(
        plan=APP_DIR / "plan.yaml",
        app_dir=APP_DIR,
        database_url=f"sqlite:///{tmp_path / 'live.db'}",
        users=100,
        rate=30,
        error_rate=0.0,
        timeout=60,
        interval=1.0,
    )
    with live_stack(options, tmp_path) as live:
        row = live.service.reader.load(live.run)
        scope = current_scope(live.run, load_run_state(row.state))
        assert scope.startswith(f"{live.run}/p0/s0/")  # the Canary's attempt
        exposures = 0
        deadline = time.monotonic() + 45
        while time.monotonic() < deadline and exposures < 50:
            time.sleep(1)
            windows = live.windows.windows(scope, "new_checkout")
            exposures = sum(int(w.exposed.denominator.sum()) for w in windows)
        assert exposures >= 50, f"{exposures} exposures in {scope}"
        actors = sum(w.actors.estimate() for w in windows)
        # 100 users, the flag at 20 %: both variants were seen, by many users.
        assert actors >= 20
        app_url = live.app_url
    with pytest.raises(httpx.HTTPError):
        httpx.get(f"{app_url}/health", timeout=1)
