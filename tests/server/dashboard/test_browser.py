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

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page, expect, sync_playwright

from flagramp.core.flags import Flag
from flagramp.store import Author
from tests.server.dashboard.conftest import Dashboard
from tests.server.dashboard.fake_runs import RUN
from tests.server.live_server import serving
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
    _log_in(page, live, dashboard.tokens["engineer"])
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
