"""Fixtures for the dashboard: the app with a fake run service, people's
tokens (the UAE plan's on-call and engineering lead among them), and a client
that keeps cookies like a browser."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from dataclasses import dataclass
from typing import Any

import anyio
import httpx
import pytest
from fastapi import FastAPI

from flagramp.core.clock import VirtualClock
from flagramp.core.flags import Flag
from flagramp.server.app import create_app
from flagramp.server.settings import ServerSettings
from flagramp.store import Author, SqlFlagStore
from flagramp.store.tokens import OwnerKind, Permission, TokenStore
from tests.server.conftest import Template, copy_store
from tests.server.dashboard.fake_runs import ENG_LEAD, ON_CALL, FakeRuns

SETUP = Author("test-setup")
#: The dashboard fixture's session key.
SESSION_KEY = "a test key of enough length"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


class Browser:
    """An in-process client that keeps cookies between requests."""

    def __init__(self, app: FastAPI, base_url: str = "http://flagramp.test") -> None:
        self.transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        self.base_url = base_url
        self.cookies = httpx.Cookies()

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        async def send() -> httpx.Response:
            async with httpx.AsyncClient(
                transport=self.transport, base_url=self.base_url, cookies=self.cookies
            ) as client:
                response = await client.request(method, path, **kwargs)
                await response.aread()
                self.cookies = client.cookies
                return response

        return anyio.run(send)

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", path, **kwargs)

    def csrf(self, path: str = "/dashboard/flags") -> str:
        """The CSRF nonce a page of this session carries."""
        found = _CSRF.search(self.get(path).text)
        assert found is not None, "the page has no form"
        return found.group(1)

    def login(self, token: str) -> httpx.Response:
        nonce = csrf_of(self.get("/dashboard/login"))
        return self.post("/dashboard/login", data={"csrf_token": nonce, "token": token})


def signed_cookie(key: str, document: object) -> str:
    """A session cookie value signed as the server signs one (`SessionCodec`
    under the setting `key`), holding any JSON `document`: for cookies the
    codec would never write, such as the old ones that held the token."""
    body = json.dumps(document).encode()
    payload = base64.urlsafe_b64encode(body).decode().rstrip("=")
    digest = hmac.new(
        hashlib.sha256(key.encode()).digest(), payload.encode(), hashlib.sha256
    ).digest()
    return f"{payload}.{base64.urlsafe_b64encode(digest).decode().rstrip('=')}"


def cookie_document(value: str) -> Any:
    """The JSON a session cookie value carries (its signature left aside)."""
    payload = value.rsplit(".", 1)[0]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def csrf_of(page: httpx.Response) -> str:
    found = _CSRF.search(page.text)
    assert found is not None, "the page has no form"
    return found.group(1)


@dataclass
class Dashboard:
    app: FastAPI
    store: SqlFlagStore
    runs: FakeRuns
    tokens: dict[str, str]
    clock: VirtualClock

    def browser(self, who: str | None = None, **options: Any) -> Browser:
        """A browser, logged in as `who` (a token name) when given."""
        browser = Browser(self.app, **options)
        if who is not None:
            answer = browser.login(self.tokens[who])
            assert answer.status_code == 303, answer.text
        return browser

    def api(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """A bearer-token API call (as the admin)."""
        headers = {"authorization": f"Bearer {self.tokens['admin']}"}
        return Browser(self.app).request(method, path, headers=headers, **kwargs)


def person_token(store: SqlFlagStore, owner: str, permission: Permission) -> str:
    return (
        TokenStore(store)
        .issue(
            owner=owner,
            owner_kind=OwnerKind.PERSON,
            permission=permission,
            author=SETUP,
        )
        .token
    )


@pytest.fixture
def dashboard(server_template: Template, tmp_path: Any) -> Dashboard:
    store = copy_store(server_template.path, tmp_path)
    runs = FakeRuns(store)
    store.create_flag(Flag(key=runs.flag), SETUP, "production")
    store.change_flag(
        runs.flag,
        lambda f: f.with_changes(boolean=True),
        SETUP,
        "production",
        "enable",
    )
    tokens = dict(server_template.tokens)
    tokens["on_call"] = person_token(store, ON_CALL, Permission.OPERATOR)
    tokens["eng_lead"] = person_token(store, ENG_LEAD, Permission.ENGINEER)
    clock = VirtualClock()
    app = create_app(
        ServerSettings(session_key=SESSION_KEY),
        store=store,
        clock=clock,
        runs=runs,
    )
    return Dashboard(app, store, runs, tokens, clock)
