"""Dashboard sessions age by the app's session clock: `flagramp demo --serve`
shows runs in virtual time that runs weeks ahead, while its viewer's session
lasts its twelve real hours."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from flagramp.core.clock import VirtualClock
from flagramp.server.app import create_app
from flagramp.server.settings import ServerSettings
from tests.server.conftest import Template, copy_store
from tests.server.dashboard.conftest import Browser

_START = dt.datetime(2026, 1, 5, 8, tzinfo=dt.UTC)


def _browser(template: Template, tmp_path: Path, *, own_clock: bool) -> Browser:
    clock = VirtualClock(_START)
    sessions = VirtualClock(_START) if own_clock else None
    app = create_app(
        ServerSettings(session_key="a test key of enough length"),
        store=copy_store(template.path, tmp_path),
        clock=clock,
        session_clock=sessions,
    )
    browser = Browser(app)
    assert browser.login(template.tokens["viewer"]).status_code == 303
    clock.advance(dt.timedelta(days=7))  # the run's time moves on a week
    return browser


def test_a_session_outlives_the_runs_virtual_week_on_its_own_clock(
    server_template: Template, tmp_path: Path
) -> None:
    browser = _browser(server_template, tmp_path, own_clock=True)
    assert browser.get("/dashboard/runs").status_code == 200


def test_without_one_sessions_age_by_the_apps_clock_as_before(
    server_template: Template, tmp_path: Path
) -> None:
    browser = _browser(server_template, tmp_path, own_clock=False)
    answer = browser.get("/dashboard/runs")
    assert answer.status_code in (302, 303, 307), answer.status_code
