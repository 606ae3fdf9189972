"""The dashboard over HTTP: login and its cookie, CSRF, what each token is
offered, flag changes with their audit rows, escaping, and the run pages."""

from __future__ import annotations

import json
import re

import pytest

from flagramp.core.flags import Flag
from flagramp.core.flags import operations as ops
from flagramp.server.dashboard.run_views import x_range
from flagramp.server.dashboard.session import COOKIE
from flagramp.store import Author
from flagramp.store.tokens import TokenStore
from tests.server.dashboard.conftest import (
    SESSION_KEY,
    Browser,
    Dashboard,
    cookie_document,
    csrf_of,
    signed_cookie,
)
from tests.server.dashboard.fake_runs import ON_CALL, RUN

FLAG = "new_checkout"


def _flag(dashboard: Dashboard, key: str = FLAG, description: str = "") -> None:
    dashboard.store.create_flag(
        Flag(key=key, description=description), Author("setup"), "production"
    )


def _api_flag(dashboard: Dashboard, key: str) -> dict[str, object]:
    answer = dashboard.api("GET", f"/api/v1/flags/{key}?environment=production")
    assert answer.status_code == 200, answer.text
    document: dict[str, object] = answer.json()
    return document


def _forms(html: str) -> list[str]:
    """The actions of the page's POST forms, in order."""
    tags = re.findall(r"<form\b[^>]*>", html)
    return [
        re.search(r'action="([^"]+)"', tag).group(1)  # type: ignore[union-attr]
        for tag in tags
        if 'method="post"' in tag
    ]


def test_a_page_without_a_session_sends_the_browser_to_the_login(
    dashboard: Dashboard,
) -> None:
    answer = dashboard.browser().get("/dashboard/flags")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/dashboard/login"
    htmx = dashboard.browser().get("/dashboard/flags", headers={"hx-request": "true"})
    assert htmx.status_code == 401
    assert htmx.headers["hx-redirect"] == "/dashboard/login"


def test_login_sets_an_httponly_strict_cookie_for_the_dashboard_only(
    dashboard: Dashboard,
) -> None:
    answer = dashboard.browser().login(dashboard.tokens["viewer"])
    assert answer.status_code == 303
    cookie = next(
        c for c in answer.headers.get_list("set-cookie") if c.startswith(COOKIE)
    )
    attributes = {part.strip().lower() for part in cookie.split(";")[1:]}
    assert {"httponly", "samesite=strict", "path=/dashboard"} <= attributes
    assert "secure" not in attributes  # plain http on loopback


def test_login_over_https_makes_the_cookie_secure(dashboard: Dashboard) -> None:
    browser = dashboard.browser(base_url="https://flagramp.test")
    answer = browser.login(dashboard.tokens["viewer"])
    cookie = next(
        c for c in answer.headers.get_list("set-cookie") if c.startswith(COOKIE)
    )
    assert "secure" in {part.strip().lower() for part in cookie.split(";")}
    assert browser.get("/dashboard/flags").status_code == 200


@pytest.mark.parametrize("token", ["revoked", "sdk", "nonsense"])
def test_login_refuses_revoked_sdk_and_unknown_tokens(
    dashboard: Dashboard, token: str
) -> None:
    browser = dashboard.browser()
    answer = browser.login(dashboard.tokens.get(token, "frp_nothing_here"))
    assert answer.status_code == 401
    assert COOKIE not in answer.headers.get("set-cookie", "")
    assert browser.get("/dashboard/flags").status_code == 303


def test_login_without_the_forms_nonce_is_refused(dashboard: Dashboard) -> None:
    browser = dashboard.browser()
    answer = browser.post(
        "/dashboard/login",
        data={"csrf_token": "guessed", "token": dashboard.tokens["admin"]},
    )
    assert answer.status_code == 403
    assert browser.get("/dashboard/flags").status_code == 303


def test_a_tampered_cookie_is_no_session(dashboard: Dashboard) -> None:
    browser = dashboard.browser("viewer")
    value = browser.cookies[COOKIE]
    payload, signature = value.rsplit(".", 1)
    assert browser.get("/dashboard/flags").status_code == 200
    tampered = payload[:-2] + ("xx" if not payload.endswith("xx") else "yy")
    browser.cookies.set(
        COOKIE, f"{tampered}.{signature}", domain="flagramp.test", path="/dashboard"
    )
    assert browser.cookies[COOKIE] != value
    assert browser.get("/dashboard/flags").status_code == 303


@pytest.mark.parametrize("who", ["viewer", "engineer", "admin"])
def test_the_cookie_carries_the_tokens_id_never_the_token(
    dashboard: Dashboard, who: str
) -> None:
    token = dashboard.tokens[who]
    _, token_id, secret = token.split("_", 2)
    value = dashboard.browser(who).cookies[COOKIE]
    document = cookie_document(value)
    assert document["k"] == token_id
    decoded = json.dumps(document)
    assert token not in decoded and secret not in decoded
    assert token not in value and secret not in value


def test_an_old_cookie_holding_the_token_sends_the_browser_to_the_login(
    dashboard: Dashboard,
) -> None:
    browser = dashboard.browser()
    old = {
        "t": dashboard.tokens["admin"],
        "c": "an old nonce",
        "i": dashboard.clock.now().isoformat(),
    }
    browser.cookies.set(
        COOKIE,
        signed_cookie(SESSION_KEY, old),
        domain="flagramp.test",
        path="/dashboard",
    )
    answer = browser.get("/dashboard/flags")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/dashboard/login"
    posted = browser.post("/dashboard/logout", data={"csrf_token": "an old nonce"})
    assert posted.status_code == 303
    htmx = browser.get("/dashboard/flags", headers={"hx-request": "true"})
    assert htmx.status_code == 401
    assert browser.get("/dashboard/login").status_code == 200


def test_a_revoked_tokens_session_is_refused_on_every_kind_of_request(
    dashboard: Dashboard,
) -> None:
    browser = dashboard.browser("admin")
    nonce = browser.csrf()
    token_id = dashboard.tokens["admin"].split("_")[1]
    TokenStore(dashboard.store).revoke(token_id, Author("admin@example.org"))
    page = browser.get("/dashboard/flags")
    assert page.status_code == 303
    assert page.headers["location"] == "/dashboard/login"
    htmx = browser.get("/dashboard/flags", headers={"hx-request": "true"})
    assert htmx.status_code == 401
    assert htmx.headers["hx-redirect"] == "/dashboard/login"
    posted = browser.post("/dashboard/logout", data={"csrf_token": nonce})
    assert posted.status_code == 303
    assert posted.headers["location"] == "/dashboard/login"


def test_the_store_finds_a_sessions_token_by_id_while_it_is_valid(
    dashboard: Dashboard,
) -> None:
    tokens = TokenStore(dashboard.store)
    token = dashboard.tokens["engineer"]
    token_id = token.split("_")[1]
    assert tokens.active(token_id) == tokens.authenticate(token)
    assert tokens.active("000000000000") is None
    assert tokens.active("") is None
    tokens.revoke(token_id, Author("admin@example.org"))
    assert tokens.active(token_id) is None


def test_revoking_the_token_ends_its_sessions_at_the_next_request(
    dashboard: Dashboard,
) -> None:
    browser = dashboard.browser("engineer")
    assert browser.get("/dashboard/flags").status_code == 200
    issuer = TokenStore(dashboard.store)
    record = next(r for r in issuer.list() if r.owner == "engineer@example.org")
    issuer.revoke(record.id, Author("admin@example.org"))
    assert browser.get("/dashboard/flags").status_code == 303


def test_a_session_ends_after_twelve_hours(dashboard: Dashboard) -> None:
    import datetime as dt

    browser = dashboard.browser("viewer")
    dashboard.clock.advance(dt.timedelta(hours=12, minutes=1))
    assert browser.get("/dashboard/flags").status_code == 303


def test_logout_ends_the_session(dashboard: Dashboard) -> None:
    browser = dashboard.browser("viewer")
    nonce = browser.csrf()
    answer = browser.post("/dashboard/logout", data={"csrf_token": nonce})
    assert answer.status_code == 303
    assert browser.get("/dashboard/flags").status_code == 303


@pytest.mark.parametrize("sent", [None, "", "not-the-nonce"])
def test_a_change_without_the_sessions_csrf_nonce_is_refused(
    dashboard: Dashboard, sent: str | None
) -> None:
    _flag(dashboard)
    browser = dashboard.browser("engineer")
    data = {"environment": "production"}
    if sent is not None:
        data["csrf_token"] = sent
    answer = browser.post(f"/dashboard/flags/{FLAG}/enable", data=data)
    assert answer.status_code == 403
    assert _api_flag(dashboard, FLAG)["state"] == "off"


def test_another_sessions_nonce_is_refused(dashboard: Dashboard) -> None:
    _flag(dashboard)
    theirs = dashboard.browser("engineer").csrf()
    mine = dashboard.browser("engineer")
    answer = mine.post(
        f"/dashboard/flags/{FLAG}/enable",
        data={"csrf_token": theirs, "environment": "production"},
    )
    assert answer.status_code == 403
    assert _api_flag(dashboard, FLAG)["state"] == "off"


def test_an_engineer_turns_a_flag_on_and_the_audit_log_names_them(
    dashboard: Dashboard,
) -> None:
    _flag(dashboard)
    browser = dashboard.browser("engineer")
    page = browser.get(f"/dashboard/flags/{FLAG}")
    answer = browser.post(
        f"/dashboard/flags/{FLAG}/enable",
        data={"csrf_token": csrf_of(page), "environment": "production", "why": "go"},
    )
    assert answer.status_code == 303
    assert _api_flag(dashboard, FLAG)["state"] == "on"
    last = dashboard.store.history(FLAG, "production")[-1]
    assert (last.actor, last.reason, last.action) == (
        "engineer@example.org",
        "go",
        "enable",
    )
    shown = browser.get(answer.headers["location"]).text
    assert "Turned on for everyone." in shown
    assert "engineer@example.org" in shown  # the history table


def test_a_percentage_is_set_and_a_bad_one_is_explained(dashboard: Dashboard) -> None:
    _flag(dashboard)
    browser = dashboard.browser("engineer")
    nonce = browser.csrf(f"/dashboard/flags/{FLAG}")
    url = f"/dashboard/flags/{FLAG}/percentage"
    bad = browser.post(url, data={"csrf_token": nonce, "percentage": "250"})
    assert bad.status_code == 422
    assert _api_flag(dashboard, FLAG)["state"] == "off"
    good = browser.post(url, data={"csrf_token": nonce, "percentage": "12.5"})
    assert good.status_code == 303
    gates = _api_flag(dashboard, FLAG)["gates"]
    assert isinstance(gates, dict)
    assert gates["percentage_of_actors"] == "12.5"


def test_a_viewer_sees_no_forms_that_change_anything(dashboard: Dashboard) -> None:
    _flag(dashboard)
    browser = dashboard.browser("viewer")
    flag_forms = _forms(browser.get(f"/dashboard/flags/{FLAG}").text)
    assert flag_forms == ["/dashboard/logout", f"/dashboard/flags/{FLAG}/explain"]
    run_forms = _forms(browser.get(f"/dashboard/runs/{RUN}").text)
    assert run_forms == ["/dashboard/logout"]


def test_a_viewers_change_is_refused_even_with_a_valid_nonce(
    dashboard: Dashboard,
) -> None:
    _flag(dashboard)
    browser = dashboard.browser("viewer")
    nonce = browser.csrf()
    answer = browser.post(
        f"/dashboard/flags/{FLAG}/enable",
        data={"csrf_token": nonce, "environment": "production"},
    )
    assert answer.status_code == 403
    assert _api_flag(dashboard, FLAG)["state"] == "off"
    kill = browser.post(
        f"/dashboard/runs/{RUN}/kill", data={"csrf_token": nonce, "confirm": "yes"}
    )
    assert kill.status_code == 403
    assert dashboard.runs.commands == []


def test_people_typed_text_is_escaped(dashboard: Dashboard) -> None:
    evil = '<script>alert("x")</script>'
    _flag(dashboard, description=evil)
    dashboard.store.change_flag(
        FLAG, ops.enable, Author("someone@example.org", evil), "production", "enable"
    )
    browser = dashboard.browser("viewer")
    page = browser.get(f"/dashboard/flags/{FLAG}").text
    assert evil not in page
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page
    explained = browser.post(
        f"/dashboard/flags/{FLAG}/explain",
        data={"csrf_token": csrf_of_page(page), "flipper_id": evil},
        headers={"hx-request": "true"},
    ).text
    assert evil not in explained
    assert "&lt;script&gt;" in explained


def csrf_of_page(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found is not None
    return found.group(1)


def test_explain_says_who_gets_it_and_why(dashboard: Dashboard) -> None:
    _flag(dashboard)
    dashboard.store.change_flag(
        FLAG, lambda f: ops.add_actor(f, "User;7"), Author("s"), "production", "actor"
    )
    browser = dashboard.browser("viewer")
    nonce = browser.csrf(f"/dashboard/flags/{FLAG}")
    url = f"/dashboard/flags/{FLAG}/explain"
    listed = browser.post(url, data={"csrf_token": nonce, "flipper_id": "User;7"})
    other = browser.post(url, data={"csrf_token": nonce, "flipper_id": "User;8"})
    assert "gets it" in listed.text and "<code>actor</code>" in listed.text
    assert "does not get it" in other.text and "<code>default</code>" in other.text


def test_the_flag_list_shows_each_environment(dashboard: Dashboard) -> None:
    _flag(dashboard)
    dashboard.store.create_flag(Flag(key=FLAG), Author("s"), "staging")
    dashboard.store.change_flag(FLAG, ops.enable, Author("s"), "staging", "enable")
    page = dashboard.browser("viewer").get("/dashboard/flags").text
    row = page[page.index(f">{FLAG}</a>") :].split("</tr>")[0]
    states = re.findall(r'class="state state-(\w+)"', row)
    assert states == ["off", "on"]  # production, staging


def test_pages_load_only_their_own_scripts(dashboard: Dashboard) -> None:
    answer = dashboard.browser("viewer").get(f"/dashboard/runs/{RUN}")
    csp = answer.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    sources = re.findall(r'(?:src|href)="([^"]+)"', answer.text)
    assert sources and all(s.startswith(("/dashboard", "#")) for s in sources)
    for asset in (
        "/dashboard/static/vendor/htmx.min.js",
        "/dashboard/static/vendor/uPlot.iife.min.js",
    ):
        assert dashboard.browser().get(asset).status_code == 200


def test_the_run_list_says_what_each_run_waits_for_and_from_whom(
    dashboard: Dashboard,
) -> None:
    page = dashboard.browser("viewer").get("/dashboard/runs").text
    assert f">{RUN}</a>" in page
    assert "awaiting go no go" in page
    assert "answers to the go/no-go" in page
    assert "eng_lead, product_owner (uae-eng-lead@va.gov)" in page
    assert "now: go/no-go asked 2026-03-02T10:00:00+00:00" in page


def test_the_run_page_shows_the_frozen_evidence_and_the_vote_to_its_role(
    dashboard: Dashboard,
) -> None:
    lead = dashboard.browser("eng_lead")
    page = lead.get(f"/dashboard/runs/{RUN}").text
    assert "api error rate" in page and "0.012" in page and "[0.008, 0.016]" in page
    assert "Oracle latency spikes" in page
    assert f"/dashboard/runs/{RUN}/vote" in _forms(page)
    assert f"/dashboard/runs/{RUN}/kill" not in _forms(page)  # not on call
    answer = lead.post(
        f"/dashboard/runs/{RUN}/vote",
        data={
            "csrf_token": csrf_of_page(page),
            "role": "eng_lead",
            "answer": "launch",
            "comment": "numbers look fine",
        },
    )
    assert answer.status_code == 303
    vote = dashboard.runs.commands[-1]
    assert (vote.person, getattr(vote, "role", None)) == (
        "uae-eng-lead@va.gov",
        "eng_lead",
    )
    # An engineer who holds no role of the gate is offered no vote.
    other = dashboard.browser("engineer").get(f"/dashboard/runs/{RUN}").text
    assert f"/dashboard/runs/{RUN}/vote" not in _forms(other)


def test_the_kill_switch_needs_its_confirmation_then_turns_the_flag_off(
    dashboard: Dashboard,
) -> None:
    flag = dashboard.runs.flag
    browser = dashboard.browser("on_call")
    page = browser.get(f"/dashboard/runs/{RUN}").text
    assert f"/dashboard/runs/{RUN}/kill" in _forms(page)
    nonce = csrf_of_page(page)
    url = f"/dashboard/runs/{RUN}/kill"
    unconfirmed = browser.post(url, data={"csrf_token": nonce, "note": "errors"})
    assert unconfirmed.status_code == 422
    assert _api_flag(dashboard, flag)["state"] == "on"
    answer = browser.post(
        url, data={"csrf_token": nonce, "note": "errors", "confirm": "yes"}
    )
    assert answer.status_code == 303
    assert _api_flag(dashboard, flag)["state"] == "off"
    assert dashboard.store.history(flag, "production")[-1].actor == ON_CALL
    shown = browser.get(answer.headers["location"]).text
    assert "Kill switch pulled" in shown and "I1" in shown


def test_a_refused_command_is_shown_not_raised(dashboard: Dashboard) -> None:
    browser = dashboard.browser("engineer")  # holds no plan role
    nonce = browser.csrf(f"/dashboard/runs/{RUN}")
    answer = browser.post(
        f"/dashboard/runs/{RUN}/vote",
        data={"csrf_token": nonce, "role": "eng_lead", "answer": "launch"},
    )
    assert answer.status_code == 409
    assert "not your role" in answer.text


def test_the_guard_series_carries_the_evidence_for_the_charts(
    dashboard: Dashboard,
) -> None:
    answer = dashboard.browser("viewer").get(f"/dashboard/runs/{RUN}/guards.json")
    series = answer.json()["criteria"]["api error rate"]
    assert series == {
        "t": [29_500_000 * 60],
        "estimate": [0.012],
        "lower": [0.008],
        "upper": [0.016],
        "reference": [0.05],
        # One point: an hour either side of it on the chart's time axis.
        "range": [29_500_000 * 60 - 3600, 29_500_000 * 60 + 3600],
    }


def test_a_guard_charts_time_axis_spans_its_points() -> None:
    assert x_range([]) == []
    assert x_range([600]) == [600 - 3600, 600 + 3600]
    assert x_range([600, 60, 1200]) == [60, 1200]


def test_an_unknown_run_and_flag_are_not_found(dashboard: Dashboard) -> None:
    browser: Browser = dashboard.browser("viewer")
    assert browser.get("/dashboard/runs/R404").status_code == 404
    assert browser.get("/dashboard/flags/nothing").status_code == 404


def test_the_polled_panel_is_a_fragment_with_the_runs_state(
    dashboard: Dashboard,
) -> None:
    answer = dashboard.browser("viewer").get(
        f"/dashboard/runs/{RUN}/panel", headers={"hx-request": "true"}
    )
    assert answer.status_code == 200
    assert answer.text.lstrip().startswith('<div id="run-panel"')
    assert "<html" not in answer.text
    assert 'data-testid="run-status">awaiting go no go<' in answer.text


def test_failed_logins_count_with_the_apis_failures(dashboard: Dashboard) -> None:
    browser = dashboard.browser()
    for _ in range(20):
        assert browser.login("frp_wrong").status_code == 401
    blocked = browser.login(dashboard.tokens["admin"])
    assert blocked.status_code == 429
    assert COOKIE not in blocked.headers.get("set-cookie", "")
    api = dashboard.api("GET", "/api/v1/tokens/me")
    assert api.status_code == 429  # the same address, the same limiter
