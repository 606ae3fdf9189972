"""`serve --controller`: the controller loop in the server process, under the
store's lease (one replica acts; a standby takes over when it stops); its
ticks delete the event batch keys past the server's retention setting."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable

import httpx
from prometheus_client import CollectorRegistry

from flagramp.core.clock import VirtualClock
from flagramp.engine.controller import Controller
from flagramp.engine.lease import Lease
from flagramp.server.app import create_app
from flagramp.server.controller_loop import ControllerLoop
from flagramp.server.run_metrics import ControllerMetrics
from flagramp.server.settings import ServerSettings
from flagramp.store import SqlFlagStore
from flagramp.store.event_batches import EventBatchKeys
from flagramp.store.windows import WindowStore
from tests.server.conftest import Api
from tests.server.live_server import serving
from tests.server.routes.run_plan import PLAN


def _loop(store: SqlFlagStore, registry: CollectorRegistry) -> ControllerLoop:
    windows = WindowStore(store.engine)
    return ControllerLoop(
        lambda sleep: Controller(
            store, windows, VirtualClock(), send=None, sleep=sleep
        ),
        Lease(store.engine),
        ControllerMetrics(registry),
        interval=0.05,
        retry_seconds=0.05,
    )


def _value(registry: CollectorRegistry, name: str) -> float:
    return registry.get_sample_value(name) or 0.0


def _until(check: Callable[[], bool], seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_one_loop_ticks_while_a_standby_waits_then_takes_over(api: Api) -> None:
    first_metrics, standby_metrics = CollectorRegistry(), CollectorRegistry()
    first = _loop(api.store, first_metrics)
    standby = _loop(api.store, standby_metrics)
    first.start()
    _until(lambda: _value(first_metrics, "flagramp_controller_ticks_total") >= 2)
    standby.start()
    time.sleep(0.3)
    assert _value(standby_metrics, "flagramp_controller_ticks_total") == 0
    assert _value(standby_metrics, "flagramp_controller_lease_held") == 0
    assert _value(first_metrics, "flagramp_controller_lease_held") == 1
    first.stop()
    assert not first.is_running
    assert _value(first_metrics, "flagramp_controller_lease_held") == 0
    _until(lambda: _value(standby_metrics, "flagramp_controller_ticks_total") >= 1)
    standby.stop(timeout=5)
    assert not standby.is_running
    free = Lease(api.store.engine)
    assert free.try_acquire()  # released on stop
    free.release()


def test_serve_with_the_controller_ticks_under_the_lease_and_says_so(api: Api) -> None:
    settings = ServerSettings(controller=True, controller_interval=0.05)
    app = create_app(settings, store=api.store, clock=api.clock)
    headers = api.headers("admin")
    with serving(app) as url, httpx.Client(base_url=url, headers=headers) as client:
        started = client.post(
            "/api/v1/runs", content=PLAN, headers={"content-type": "application/yaml"}
        )
        assert started.status_code == 201, started.text

        def ticked() -> bool:
            text = client.get("/metrics").text
            return "flagramp_controller_ticks_total 0.0" not in text

        _until(ticked)
        text = client.get("/metrics").text
        assert "flagramp_controller_lease_held 1.0" in text
        assert 'flagramp_runs{status="waiting_prerequisites"} 1.0' in text
        assert "flagramp_controller_tick_duration_seconds_count" in text
    assert not app.state.controller.is_running  # stopped with the server


def test_serve_with_the_controller_deletes_batch_keys_past_the_retention(
    api: Api,
) -> None:
    keys = EventBatchKeys(api.store.engine)
    now = api.clock.now()
    keys.remember("production", "old", 1, now - dt.timedelta(hours=3))
    keys.remember("production", "new", 1, now + dt.timedelta(minutes=65))
    settings = ServerSettings(
        controller=True,
        controller_interval=0.05,
        batch_key_retention=dt.timedelta(hours=2),
    )
    app = create_app(settings, store=api.store, clock=api.clock)
    with serving(app):
        _until(lambda: not keys.seen("production", "old"))
    assert keys.seen("production", "new")
