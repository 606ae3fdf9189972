"""The dashboard in a real browser: Debian's chromium through Playwright,
against the app on a live uvicorn on loopback.

A person logs in, turns a flag on and sees it on through the API; the on-call
engineer pulls a run's kill switch and the flag is off through the API; a
viewer is offered no change; axe-core finds no serious or critical violation;
no page scrolls sideways on a 375 px screen. Screenshots go to
tests/artifacts/ (gitignored). Skips only when chromium is absent (fails then
under FLAGRAMP_REQUIRE_SERVICES=1).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from axe_playwright_python.sync_playwright import Axe
from fastapi import FastAPI
from playwright.sync_api import Browser, Page, expect, sync_playwright

from flagramp.core.clock import VirtualClock
from flagramp.core.flags import Flag
from flagramp.core.plans import Answer
from flagramp.engine.commands import SignPrerequisite, Vote
from flagramp.engine.compiled import CompiledStage
from flagramp.engine.controller import Controller
from flagramp.engine.evaluation import StageEvaluation
from flagramp.engine.service import RunService
from flagramp.server.app import create_app
from flagramp.server.dashboard.session import COOKIE
from flagramp.server.settings import ServerSettings
from flagramp.store import Author, SqlFlagStore
from flagramp.store.tokens import Permission
from flagramp.store.windows import WindowStore
from tests.engine.run_support import healthy
from tests.server.conftest import Template, copy_store
from tests.server.dashboard.conftest import Dashboard, cookie_document, person_token
from tests.server.dashboard.fake_runs import RUN
from tests.server.live_server import serving
from tests.server.routes.run_plan import ENG, PLAN, PO
from tests.server.routes.run_plan import FLAG as RUN_FLAG
from tests.services import absent

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).parents[2] / "artifacts"
FLAG = "new_checkout"
NARROW = {"width": 375, "height": 740}


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        absent("chromium at /usr/bin/chromium")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True
        )
        yield browser
        browser.close()


@pytest.fixture
def live(dashboard: Dashboard) -> Iterator[str]:
    with serving(dashboard.app) as url:
        yield url


def _page(chromium: Browser, **options: Any) -> Page:
    context = chromium.new_context(**options)
    context.set_default_timeout(10_000)
    return context.new_page()


def _log_in(page: Page, url: str, token: str) -> None:
    page.goto(f"{url}/dashboard/login")
    page.get_by_label("API token").fill(token)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/dashboard/runs")


def _serious_violations(page: Page) -> list[str]:
    found = Axe().run(page).response["violations"]
    return [
        f"{v['id']} ({v['impact']}): {v['help']}"
        for v in found
        if v.get("impact") in ("serious", "critical")
    ]


def _fits(page: Page, width: int) -> bool:
    scrolled: int = page.evaluate("document.documentElement.scrollWidth")
    return scrolled <= width


def _api_state(dashboard: Dashboard, url: str, key: str) -> str:
    answer = httpx.get(
        f"{url}/api/v1/flags/{key}",
        params={"environment": "production"},
        headers={"authorization": f"Bearer {dashboard.tokens['admin']}"},
    )
    assert answer.status_code == 200, answer.text
    state: str = answer.json()["state"]
    return state


def _shoot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"dashboard-{name}.png"), full_page=True)


def test_log_in_turn_a_flag_on_and_see_it_on_through_the_api(
    chromium: Browser, dashboard: Dashboard, live: str
) -> None:
    dashboard.store.create_flag(Flag(key=FLAG), Author("setup"), "production")
    page = _page(chromium)
    token = dashboard.tokens["engineer"]
    _log_in(page, live, token)
    # What the browser keeps on disk: the token's id, never the token.
    (session,) = [c for c in page.context.cookies() if c["name"] == COOKIE]
    assert session["httpOnly"] and session["sameSite"] == "Strict"
    assert cookie_document(session["value"])["k"] == token.split("_")[1]
    assert token.split("_")[2] not in json.dumps(cookie_document(session["value"]))
    page.get_by_role("link", name="Flags").click()
    page.get_by_role("link", name=FLAG).click()
    state = page.get_by_test_id("state-production")
    expect(state).to_have_text("off")
    assert _serious_violations(page) == []
    page.get_by_label("Reason").first.fill("browser test")
    page.get_by_role("button", name="Turn on for everyone in production").click()
    expect(page.get_by_role("status")).to_have_text("Turned on for everyone.")
    expect(state).to_have_text("on")
    assert _api_state(dashboard, live, FLAG) == "on"
    _shoot(page, "flag")
    page.context.close()


def test_the_kill_switch_turns_the_runs_flag_off_through_the_api(
    chromium: Browser, dashboard: Dashboard, live: str
) -> None:
    flag = dashboard.runs.flag
    assert _api_state(dashboard, live, flag) == "on"
    page = _page(chromium)
    _log_in(page, live, dashboard.tokens["on_call"])
    page.get_by_role("link", name=RUN).click()
    expect(page.locator("figure.chart")).to_have_count(1)  # the guard chart drew
    assert _serious_violations(page) == []
    _shoot(page, "run")
    page.get_by_label("What is wrong").fill("errors after the canary")
    page.get_by_label("I confirm").check()
    page.get_by_role("button", name="Kill switch").click()
    expect(page.get_by_role("status").first).to_contain_text("Kill switch pulled")
    expect(page.get_by_test_id("run-status")).to_have_text("rolled back")
    assert _api_state(dashboard, live, flag) == "off"
    page.context.close()


def test_a_viewer_on_a_narrow_screen_is_offered_no_change(
    chromium: Browser, dashboard: Dashboard, live: str
) -> None:
    dashboard.store.create_flag(Flag(key=FLAG), Author("setup"), "production")
    page = _page(chromium, viewport=NARROW)
    _log_in(page, live, dashboard.tokens["viewer"])
    assert _fits(page, NARROW["width"])
    assert _serious_violations(page) == []
    _shoot(page, "runs-narrow")
    page.goto(f"{live}/dashboard/runs/{RUN}")
    assert _fits(page, NARROW["width"])
    expect(page.get_by_role("button", name="Kill switch")).to_have_count(0)
    expect(page.get_by_role("button", name="Send answer")).to_have_count(0)
    page.goto(f"{live}/dashboard/flags/{FLAG}")
    assert _fits(page, NARROW["width"])
    expect(
        page.get_by_role("button", name="Turn on for everyone in production")
    ).to_have_count(0)
    page.get_by_label("Actor (flipper id)").fill("User;1")
    page.get_by_role("button", name="Explain").click()
    expect(page.locator("#explained")).to_contain_text("does not get it")
    assert _serious_violations(page) == []
    _shoot(page, "flag-narrow")
    page.context.close()


@dataclass
class RealRuns:
    """The app on the engine's own RunService, one run at its go/no-go."""

    app: FastAPI
    store: SqlFlagStore
    service: RunService
    controller: Controller
    clock: VirtualClock
    tokens: dict[str, str]


@pytest.fixture
def real_runs(server_template: Template, tmp_path: Path) -> RealRuns:
    store = copy_store(server_template.path, tmp_path)
    tokens = dict(server_template.tokens)
    tokens["eng"] = person_token(store, ENG, Permission.ENGINEER)
    tokens["po"] = person_token(store, PO, Permission.ENGINEER)
    clock = VirtualClock()
    app = create_app(
        ServerSettings(session_key="a test key of enough length"),
        store=store,
        clock=clock,
    )
    service = app.state.flagramp.runs
    assert isinstance(service, RunService)
    controller = Controller(
        store, WindowStore(store.engine), clock, evaluate=healthy, send=None
    )
    run = service.start(PLAN, person=ENG).id
    service.command(run, SignPrerequisite(ENG, 0))
    controller.tick()
    clock.advance(dt.timedelta(hours=1, minutes=5))
    controller.tick()
    service.command(run, Vote(ENG, "eng", Answer.LAUNCH, "fine by engineering"))
    return RealRuns(app, store, service, controller, clock, tokens)


def test_a_go_no_go_signed_in_the_page_advances_the_stage(
    chromium: Browser, real_runs: RealRuns
) -> None:
    with serving(real_runs.app) as url:
        page = _page(chromium)
        _log_in(page, url, real_runs.tokens["po"])
        page.get_by_role("link", name="R1").click()
        expect(page.get_by_test_id("run-status")).to_have_text("awaiting go no go")
        expect(page.get_by_test_id("run-stage")).to_contain_text("Canary")
        assert _serious_violations(page) == []
        page.get_by_label("Launch").check()
        page.get_by_label("Comment").fill("the product owner agrees")
        page.get_by_role("button", name="Send answer").click()
        expect(page.get_by_role("status").first).to_contain_text("answer is recorded")
        real_runs.controller.tick()
        page.reload()
        expect(page.get_by_test_id("run-stage")).to_contain_text("All")
        expect(page.get_by_test_id("run-status")).to_have_text("stage running")
        _shoot(page, "run-advanced")
        page.context.close()
    votes = [e for e in real_runs.service.log("R1") if e.kind == "voted"]
    assert [(e.actor, e.data.get("comment")) for e in votes][-1] == (
        PO,
        "the product owner agrees",
    )
    flag = real_runs.store.require_flag(RUN_FLAG)
    assert flag.percentage_of_actors is not None
    assert flag.percentage_of_actors.value == 100.0


def _stage_running(real: RealRuns) -> None:
    """A second run of the plan, in its canary: nothing in its log evaluated
    yet, only the controller's current look (`engine.looks`) in its state."""
    run = real.service.start(PLAN, person=ENG).id
    real.service.command(run, SignPrerequisite(ENG, 0))
    real.controller.tick()
    assert real.service.show(run).last_evaluation is None


def _drifted(stage: CompiledStage, windows: Any, **context: Any) -> StageEvaluation:
    """`healthy`, with every estimate a little higher: new evidence."""
    found = healthy(stage, windows, **context)
    checks = tuple(
        replace(
            c,
            decision=replace(
                c.decision, evidence=replace(c.decision.evidence, estimate=0.015)
            ),
        )
        for c in found.checks
    )
    return replace(found, checks=checks)


def test_the_guard_chart_updates_over_sse_when_the_controller_ticks(
    chromium: Browser, real_runs: RealRuns
) -> None:
    _stage_running(real_runs)  # R2
    with serving(real_runs.app) as url:
        page = _page(chromium)
        _log_in(page, url, real_runs.tokens["po"])
        page.goto(f"{url}/dashboard/runs/R2")
        box = page.locator("#guard-charts")
        expect(box).to_have_attribute("data-live", "sse")
        # On load: the current look, one point with an hour either side (not
        # uPlot's default span of years).
        chart = page.locator("figure.chart")
        expect(chart).to_have_count(1)
        expect(chart).to_have_attribute("data-points", "1")
        span = float(chart.get_attribute("data-x-span") or "inf")
        assert span <= 2 * 3600
        page.evaluate("window.__notReloaded = true")
        # A healthy tick a minute later with new evidence: no log event, the
        # stream sends the new look and the page adds its point.
        real_runs.clock.advance(dt.timedelta(minutes=1))
        store = real_runs.store
        windows = WindowStore(store.engine)
        clock = real_runs.clock
        Controller(store, windows, clock, evaluate=_drifted, send=None).tick()
        expect(chart).to_have_attribute("data-points", "2")
        # The canary's hold passes: the controller asks the go/no-go and
        # freezes the evaluation, and the page draws it from the stream.
        real_runs.clock.advance(dt.timedelta(hours=1, minutes=5))
        real_runs.controller.tick()
        expect(chart).to_have_attribute("data-points", "3")
        assert page.evaluate("window.__notReloaded === true")
        _shoot(page, "run-live-chart")
        page.context.close()


def test_the_guard_chart_falls_back_to_polling_without_the_stream(
    chromium: Browser, real_runs: RealRuns
) -> None:
    with serving(real_runs.app) as url:
        page = _page(chromium)
        page.route("**/guards/stream", lambda route: route.abort())
        _log_in(page, url, real_runs.tokens["po"])
        page.goto(f"{url}/dashboard/runs/R1")
        expect(page.locator("#guard-charts")).to_have_attribute("data-live", "poll")
        expect(page.locator("figure.chart")).to_have_count(1)
        page.context.close()
