"""`flagramp serve --controller`: the engine's controller in the server process.

A daemon thread waits for the store's controller lease (`engine.lease`: one
controller acts at a time, whichever replica holds it), then ticks every
`interval` seconds with the server's clock, checking before each tick that the
lease is still held. Stopping (the server's shutdown) wakes it from any wait,
lets the tick under way finish (a tick writes one transaction per run, so
nothing is half written) and releases the lease for a standby replica.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from flagramp.engine.controller import Controller
from flagramp.engine.lease import Lease
from flagramp.server.run_metrics import ControllerMetrics

log = logging.getLogger(__name__)

#: Default seconds between ticks in the server.
DEFAULT_INTERVAL = 60.0


class Stopped(Exception):
    """Raised inside the loop's waits once it is told to stop."""


class ControllerLoop:
    """One controller, ticking in a thread while it holds the lease."""

    def __init__(
        self,
        make: Callable[[Callable[[float], None]], Controller],
        lease: Lease,
        metrics: ControllerMetrics,
        *,
        interval: float = DEFAULT_INTERVAL,
        retry_seconds: float = 1.0,
    ) -> None:
        self._stop = threading.Event()
        # The controller sleeps through this loop's wait (backoff included),
        # so a stop interrupts it too.
        self.controller = make(self._sleep)
        self.lease, self.metrics = lease, metrics
        self.interval, self.retry_seconds = interval, retry_seconds
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the thread (once)."""
        if self._thread is not None:
            return
        self._thread = threading.Thread(
            target=self._main, name="flagramp controller", daemon=True
        )
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Stop after the tick under way; the lease is released."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    @property
    def is_running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _sleep(self, seconds: float) -> None:
        if self._stop.wait(seconds):
            raise Stopped

    def _main(self) -> None:
        try:
            self._loop()
        except Stopped:
            pass
        finally:
            self.lease.release()
            self.metrics.lease_held.set(0)

    def _loop(self) -> None:
        while not self._stop.is_set():
            if not self.lease.is_held():
                self.metrics.lease_held.set(0)
                self.lease.acquire(retry_seconds=self.retry_seconds, sleep=self._sleep)
                log.info("this process holds the controller lease")
            self.metrics.lease_held.set(1)
            started = time.perf_counter()
            try:
                report = self.controller.tick()
            except Stopped:
                raise
            except Exception:
                # Rationale: the engine loop is one of the two places that catch
                # everything (STYLE rule 4): a bug in one tick must not stop the
                # controller of every run; the next tick decides afresh.
                log.exception("a controller tick failed")
                self.metrics.tick_failures.inc()
            else:
                self.metrics.record(report, time.perf_counter() - started)
            self._sleep(self.interval)
