"""The guard stream while a healthy stage runs: the real engine (RunService,
Controller, the real evaluation over pushed windows) behind the app. A tick
with new windows writes new looks into the run's state without a log event,
and the stream sends a `guards` event with the new point alone, its id naming
the look's minute; a tick without new evidence sends nothing; the page's
series (guards.json) is the log's evaluations and the current look."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx
import pytest

from flagramp.core.clock import VirtualClock
from flagramp.engine.commands import SignPrerequisite
from flagramp.engine.controller import Controller
from flagramp.engine.service import RunService
from flagramp.server.app import create_app
from flagramp.server.settings import ServerSettings
from flagramp.store.windows import WindowStore
from tests.server.conftest import Template, copy_store
from tests.server.dashboard.conftest import csrf_of
from tests.server.live_server import serving
from tests.server.routes.run_plan import ENG, FLAG, PLAN
from tests.server.sse_client import SseReader

CRITERION = "absolute:error_rate"


@dataclass
class Live:
    url: str
    service: RunService
    controller: Controller
    clock: VirtualClock
    cookie: str
    run: str

    def push(self, users: int, failed: int) -> None:
        """`users` users, half of them on, one request each, the first
        `failed` of them failed, at the clock's now."""
        at = self.clock.now().isoformat()
        raw: list[object] = []
        for i in range(users):
            actor = f"u{i}"
            variant = "on" if i % 2 == 0 else "off"
            status = 500 if i < failed else 200
            raw.append(
                {"type": "exposure", "at": at, "actor": actor, "flag": FLAG}
                | {"variant": variant}
            )
            raw.append(
                {"type": "request", "at": at, "actor": actor, "route": "/x"}
                | {"status": status, "latency_ms": 10.0}
            )
        self.service.push_events(self.run, raw)

    def tick(self, minutes: int) -> None:
        self.clock.advance(dt.timedelta(minutes=minutes))
        self.controller.tick()

    def looks(self) -> Any:
        return self.service.row(self.run).state.get("looks")

    def seq(self) -> int:
        return max(e.seq for e in self.service.log(self.run))


def _cookie(url: str, token: str) -> str:
    with httpx.Client(base_url=url) as client:
        nonce = csrf_of(client.get("/dashboard/login"))
        client.post("/dashboard/login", data={"csrf_token": nonce, "token": token})
        return "; ".join(f"{k}={v}" for k, v in client.cookies.items())


def _nothing_but_keep_alives(reader: SseReader, seconds: float) -> None:
    """Several polls pass and only keep-alive comments come."""
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        try:
            event = reader.next(timeout=left, skip_comments=False)
        except TimeoutError:
            return
        assert event.event == "comment", event


@pytest.fixture
def live(server_template: Template, tmp_path: Path) -> Iterator[Live]:
    store = copy_store(server_template.path, tmp_path)
    clock = VirtualClock()
    app = create_app(
        ServerSettings(session_key="a test key of enough length"),
        store=store,
        clock=clock,
    )
    state = app.state.flagramp
    state.settings = replace(
        state.settings, stream_poll_seconds=0.05, keepalive_seconds=0.2
    )
    service = state.runs
    assert isinstance(service, RunService)
    controller = Controller(store, WindowStore(store.engine), clock, send=None)
    run = service.start(PLAN, person=ENG).id
    service.command(run, SignPrerequisite(ENG, 0))
    controller.tick()  # the canary runs, with no evidence yet
    with serving(app) as url:
        cookie = _cookie(url, server_template.tokens["viewer"])
        yield Live(url, service, controller, clock, cookie, run)


def test_a_tick_with_new_windows_sends_the_new_point(live: Live) -> None:
    live.push(200, failed=0)
    live.tick(2)
    first_minute = live.looks()["minute"]
    stream = f"{live.url}/dashboard/runs/{live.run}/guards/stream"
    reader = SseReader(stream, {"cookie": live.cookie})
    try:
        first = reader.next()
        assert first.id == f"{live.seq()}.{first_minute}"
        series = first.json()["criteria"][CRITERION]
        assert series["t"] == [first_minute * 60]
        assert series["estimate"] == [0.0]
        live.push(200, failed=20)
        live.tick(1)
        second = reader.next()
        minute = live.looks()["minute"]
        assert minute == first_minute + 1
        assert second.id == f"{live.seq()}.{minute}"  # no log event: same seq
        point = second.json()["criteria"][CRITERION]
        assert point["t"] == [minute * 60]  # the new point alone
        assert point["estimate"] == [pytest.approx(0.05)]
        low, high = point["lower"][0], point["upper"][0]
        assert low < 0.05 < high
        # A tick without new windows: the same evidence, the same look.
        live.tick(1)
        assert live.looks()["minute"] == minute
        _nothing_but_keep_alives(reader, 0.3)
    finally:
        reader.close()
    # On load the page's series ends with the current look.
    page = httpx.get(
        f"{live.url}/dashboard/runs/{live.run}/guards.json",
        headers={"cookie": live.cookie},
    )
    assert page.json()["criteria"][CRITERION]["t"] == [minute * 60]


def test_a_resuming_browser_with_the_current_look_gets_nothing(live: Live) -> None:
    live.push(100, failed=0)
    live.tick(2)
    current = f"{live.seq()}.{live.looks()['minute']}"
    stream = f"{live.url}/dashboard/runs/{live.run}/guards/stream"
    reader = SseReader(stream, {"cookie": live.cookie, "last-event-id": current})
    try:
        _nothing_but_keep_alives(reader, 0.3)
        live.push(100, failed=10)
        live.tick(1)
        assert reader.next().id == f"{live.seq()}.{live.looks()['minute']}"
    finally:
        reader.close()
