"""`flagramp demo --serve` in a process of its own: the printed URL and token
log in to the dashboard and see the run, the run ends, the server stays up,
and SIGINT ends it with exit code 0 and no traceback. A one-stage plan on a
VAOS toggle keeps it to seconds (the full demo is tests/cli/test_demo.py's)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from queue import Empty, Queue

import httpx
import pytest
from typer.testing import CliRunner

from flagramp.cli import demo_live
from flagramp.cli.app import app
from flagramp.cli.demo_live import LiveOptions, Progress
from tests.cli.conftest import assert_one_error
from tests.server.dashboard.conftest import csrf_of

#: One VAOS toggle at 5 % for half an hour: the demo's simulated world has its
#: traffic, and the run completes after a few turns.
TINY_PLAN = """\
name: vaos-tiny
title: One VAOS toggle, one short stage
owner: eng_lead
product_owner: product_owner
environment: production
traffic: {users_per_day: 48000, requests_per_minute: 400}
roles:
  eng_lead: {people: [vaos-eng-lead@va.gov], signs: [kill_switch, revert]}
  product_owner: {people: [vaos-product-owner@va.gov], signs: [re-enable]}
flags:
  va_online_scheduling_facilities_service_v2: {create: true}
events:
  vaos_service_request: {kind: request}
metrics:
  error_rate:
    kind: ratio
    numerator: vaos_service_request_failed
    denominator: vaos_service_request
phases:
  - name: Facilities
    flags: [va_online_scheduling_facilities_service_v2]
    stages:
      - name: Canary
        percentage: 5
        hold: 30m
        criteria:
          - {kind: absolute, metric: error_rate, below: 5, mde: 5,
             severity: critical, mode: rollback}
rollback:
  severities:
    critical: {action: disable_all}
  re-enable: {approved_by: [product_owner]}
  kill_switch: [eng_lead]
  revert_confirmed_by: [eng_lead]
"""
_MAIN = "from flagramp.cli.app import main; main()"
_URL = re.compile(r"dashboard: (http://127\.0\.0\.1:\d+)/dashboard/login")
_TOKEN = re.compile(r"log in with this token \(a viewer, .*\): (frp_\S+)")


class Output:
    """A process's stdout, read line by line in a thread, waited on by pattern."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.lines: list[str] = []
        self._queue: Queue[str | None] = Queue()
        assert process.stdout is not None
        stream = process.stdout

        def read() -> None:
            for line in stream:
                self._queue.put(line)
            self._queue.put(None)

        threading.Thread(target=read, daemon=True).start()

    def wait_for(self, pattern: re.Pattern[str], seconds: float) -> re.Match[str]:
        deadline = time.monotonic() + seconds
        for seen in self.lines:
            if found := pattern.search(seen):
                return found
        while time.monotonic() < deadline:
            try:
                line = self._queue.get(timeout=0.1)
            except Empty:
                continue
            if line is None:
                break
            self.lines.append(line)
            if found := pattern.search(line):
                return found
        raise AssertionError(f"no {pattern.pattern!r} in:\n{self.text}")

    def rest(self) -> str:
        while (line := self._queue.get(timeout=10)) is not None:
            self.lines.append(line)
        return self.text

    @property
    def text(self) -> str:
        return "".join(self.lines)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], Output]]:
    plan = tmp_path / "tiny.yaml"
    plan.write_text(TINY_PLAN)
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "COLUMNS": "200"}
    env.pop("FLAGRAMP_DATABASE_URL", None)
    argv = [sys.executable, "-c", _MAIN, "demo", "--serve", "--fast", "--no-inject"]
    process = subprocess.Popen(
        [*argv, "--pace", "0.1", "--plan", str(plan), "--out", str(tmp_path / "out")],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    try:
        yield process, Output(process)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_the_printed_url_and_token_show_the_run_until_sigint_ends_it_cleanly(
    served: tuple[subprocess.Popen[str], Output],
) -> None:
    process, out = served
    url = out.wait_for(_URL, 60).group(1)
    token = out.wait_for(_TOKEN, 5).group(1)

    # The API, with the printed token: the run is there while it runs.
    runs = httpx.get(
        f"{url}/api/v1/runs", headers={"authorization": f"Bearer {token}"}, timeout=10
    )
    assert runs.status_code == 200, runs.text
    assert [r["run"] for r in runs.json()["runs"]] == ["R1"]

    # The dashboard, logged in with the same token, as a browser would.
    with httpx.Client(base_url=url, timeout=10) as browser:
        nonce = csrf_of(browser.get("/dashboard/login"))
        login = browser.post(
            "/dashboard/login", data={"csrf_token": nonce, "token": token}
        )
        assert login.status_code == 303, login.text
        page = browser.get("/dashboard/runs/R1")
        assert page.status_code == 200
        assert "vaos-tiny" in page.text or "One VAOS toggle" in page.text

        out.wait_for(re.compile(r"the dashboard stays up at"), 60)
        assert "run R1: completed" in out.text
        # The run is over and the server still answers, the session too.
        assert browser.get("/dashboard/runs/R1").status_code == 200

    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=20) == 0
    text = out.rest()
    assert "Traceback" not in text, text
    assert text.rstrip().endswith("stopped"), text


def test_demo_live_runs_the_live_demos_code_with_its_plan(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    seen: list[LiveOptions] = []

    def run_live(options: LiveOptions, log_dir: Path) -> Progress:
        seen.append(options)
        return Progress(status="completed")

    monkeypatch.setattr(demo_live, "run_live", run_live)
    monkeypatch.setattr("tempfile.mkdtemp", lambda prefix: str(tmp_path))
    result = CliRunner().invoke(app, ["demo", "--live"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "the run ended completed" in result.output
    assert [o.plan for o in seen] == [demo_live.APP_DIR / "plan.yaml"]
    # `demo-live`, kept for its load options, is the same code.
    result = CliRunner().invoke(
        app, ["demo-live", "--error-rate", "0.3"], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    assert [o.error_rate for o in seen] == [0.0, 0.3]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--live", "--serve"], "--serve is for the simulated demo"),
        (["--live", "--fast"], "--fast is for the simulated demo"),
        (["--pace", "1"], "--pace goes with --serve"),
        (["--port", "8123"], "--port goes with --serve"),
    ],
)
def test_options_that_do_not_go_together_are_one_error(
    args: list[str], message: str
) -> None:
    result = CliRunner().invoke(app, ["demo", *args], catch_exceptions=False)
    assert_one_error(result, message)


def test_demo_live_is_not_listed_but_demo_is() -> None:
    listed = CliRunner().invoke(app, ["--help"]).output
    assert " demo " in listed
    assert "demo-live" not in listed
