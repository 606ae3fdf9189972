"""The run page's guard stream (SSE): the guard series first, again whenever
the run's log grows, with the log's sequence as the event id; a resuming
browser gets nothing it has; keep-alive comments; the session cookie, as the
page; the stream ends when the browser goes."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace

import httpx
import pytest

from flagramp.core.types import Json
from tests.server.dashboard.conftest import Dashboard, csrf_of
from tests.server.dashboard.fake_runs import CHECK, RUN, Event
from tests.server.live_server import serving
from tests.server.sse_client import SseReader

STREAM = f"/dashboard/runs/{RUN}/guards/stream"


@pytest.fixture
def fast(dashboard: Dashboard) -> None:
    """Polls every 50 ms, keep-alive every 200 ms."""
    state = dashboard.app.state.flagramp
    state.settings = replace(
        state.settings, stream_poll_seconds=0.05, keepalive_seconds=0.2
    )


@pytest.fixture
def live(dashboard: Dashboard, fast: None) -> Iterator[str]:
    with serving(dashboard.app) as url:
        yield url


def _cookie(url: str, token: str) -> str:
    with httpx.Client(base_url=url) as client:
        nonce = csrf_of(client.get("/dashboard/login"))
        client.post("/dashboard/login", data={"csrf_token": nonce, "token": token})
        return "; ".join(f"{k}={v}" for k, v in client.cookies.items())


def _evaluated(dashboard: Dashboard, minute: int, estimate: float) -> None:
    """The run's log grows by an event carrying an evaluation."""
    events = dashboard.runs.events[RUN]
    check = {**CHECK}
    decision = dict(check["decision"])  # type: ignore[arg-type]
    decision["evidence"] = {**decision["evidence"], "estimate": estimate}  # type: ignore[dict-item]
    check["decision"] = decision
    evaluation: dict[str, Json] = {"minute": minute, "checks": [check]}
    events.append(
        Event(
            len(events) + 1,
            "2026-03-02T10:05:00+00:00",
            "rolled_back",
            None,
            {"evaluation": evaluation},
        )
    )


def test_the_stream_sends_the_series_and_again_when_the_log_grows(
    dashboard: Dashboard, live: str
) -> None:
    headers = {"cookie": _cookie(live, dashboard.tokens["viewer"])}
    reader = SseReader(f"{live}{STREAM}", headers)
    try:
        assert reader.status == 200
        first = reader.next()
        assert (first.event, first.id) == ("guards", "2")
        assert first.json()["criteria"]["api error rate"]["estimate"] == [0.012]
        _evaluated(dashboard, 29_500_005, 0.02)
        second = reader.next()
        assert second.id == "3"
        series = second.json()["criteria"]["api error rate"]
        assert series["estimate"] == [0.012, 0.02]
        assert series["t"] == [29_500_000 * 60, 29_500_005 * 60]
    finally:
        reader.close()


def test_a_resuming_browser_gets_only_news_and_keep_alives_between(
    dashboard: Dashboard, live: str
) -> None:
    headers = {
        "cookie": _cookie(live, dashboard.tokens["viewer"]),
        "last-event-id": "2",
    }
    reader = SseReader(f"{live}{STREAM}", headers)
    try:
        time.sleep(0.3)  # several polls: nothing new, nothing sent
        assert reader.next(skip_comments=False).event == "comment"  # keep-alive
        with pytest.raises(TimeoutError):
            reader.next(timeout=0.01)  # keep-alive comments only
        _evaluated(dashboard, 29_500_009, 0.03)
        assert reader.next().id == "3"
    finally:
        reader.close()


def test_the_stream_needs_the_session_and_a_known_run(
    dashboard: Dashboard, fast: None
) -> None:
    anonymous = dashboard.browser().get(STREAM)
    assert anonymous.status_code == 303
    assert anonymous.headers["location"] == "/dashboard/login"
    viewer = dashboard.browser("viewer")
    assert viewer.get("/dashboard/runs/R404/guards/stream").status_code == 404


def test_the_run_page_names_the_stream_and_the_polling_fallback(
    dashboard: Dashboard,
) -> None:
    page = dashboard.browser("viewer").get(f"/dashboard/runs/{RUN}").text
    assert f'data-stream="{STREAM}"' in page
    assert f'data-src="/dashboard/runs/{RUN}/guards.json"' in page
