"""One controller acts at a time; a standby takes over within 10 s of a kill."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from flagramp.core.errors import EngineError
from flagramp.engine.lease import Lease
from flagramp.store.database import open_engine
from tests.conftest import SQL_BACKENDS, empty_database

ROOT = Path(__file__).parents[2]


@pytest.fixture(params=SQL_BACKENDS)
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with empty_database(request.param, tmp_path) as found:
        yield found


def test_a_second_lease_waits_until_the_first_is_released(url: str) -> None:
    first, second = (
        Lease(open_engine(url, migrate=False)),
        Lease(open_engine(url, migrate=False)),
    )
    try:
        assert first.try_acquire()
        assert first.is_held()
        assert not second.try_acquire()
        with pytest.raises(EngineError, match="another controller"):
            second.acquire(timeout=0.3, retry_seconds=0.1)
        first.release()
        assert not first.is_held()
        second.acquire(timeout=5, retry_seconds=0.1)
        assert second.is_held()
        assert not first.try_acquire()
    finally:
        first.release()
        second.release()
        first.engine.dispose()
        second.engine.dispose()


def _holder(url: str, log: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "tests" / "engine" / "lease_holder.py"),
            url,
            str(log),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


def _actors(log: Path) -> list[tuple[int, float]]:
    if not log.exists():
        return []
    rows = [line.split() for line in log.read_text().splitlines()]
    return [(int(pid), float(at)) for pid, at in rows if at]


def _wait_for_actor(log: Path, pid: int | None, seconds: float) -> int:
    """The pid acting (any if `pid` is None) once it appears in the log."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = {actor for actor, _ in _actors(log)}
        if pid is None and found:
            return found.pop()
        if pid is not None and pid in found:
            return pid
        time.sleep(0.05)
    raise AssertionError(f"nobody took the lease within {seconds} s")


def test_only_one_process_acts_and_a_standby_takes_over_after_a_kill(
    url: str, tmp_path: Path
) -> None:
    log = tmp_path / "acting.log"
    processes = [_holder(url, log), _holder(url, log)]
    try:
        for process in processes:  # both started and trying
            assert process.stdout is not None
            assert process.stdout.readline().strip() == "waiting"
        holder = _wait_for_actor(log, None, 30)
        time.sleep(1.0)  # the standby tries every 0.2 s meanwhile
        assert {pid for pid, _ in _actors(log)} == {holder}
        [standby] = [p.pid for p in processes if p.pid != holder]
        killed_at = time.monotonic()
        os.kill(holder, signal.SIGKILL)
        _wait_for_actor(log, standby, 10)
        took = time.monotonic() - killed_at
        assert took < 10, took
        print(f"takeover after {took:.2f} s")
        time.sleep(0.2)
        rows = _actors(log)
        last_holder = max(at for pid, at in rows if pid == holder)
        first_standby = min(at for pid, at in rows if pid == standby)
        # never both at once: the standby acted only after the holder stopped
        assert first_standby > last_holder
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
            process.wait()
