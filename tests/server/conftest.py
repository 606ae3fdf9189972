"""Fixtures for the server's tests: a migrated SQLite store per test (a copy of
one template), tokens of every kind, and the app in process."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from fastapi import FastAPI

from flagramp.core.clock import VirtualClock
from flagramp.server.app import create_app
from flagramp.server.settings import ServerSettings
from flagramp.store import Author, SqlFlagStore, open_engine
from flagramp.store.tokens import OwnerKind, Permission, TokenStore

SETUP = Author("test-setup")
ROLES = (Permission.VIEWER, Permission.ENGINEER, Permission.OPERATOR, Permission.ADMIN)


@dataclass(frozen=True)
class Template:
    """A migrated database with environments and tokens, to copy per test."""

    path: Path
    tokens: dict[str, str]


@pytest.fixture(scope="session")
def server_template(tmp_path_factory: pytest.TempPathFactory) -> Template:
    """One migrated SQLite database per test session, copied for every test."""
    path = tmp_path_factory.mktemp("server-template") / "flagramp.db"
    store = SqlFlagStore.open(f"sqlite:///{path}")
    with store.unit_of_work(SETUP) as unit:
        for env in ("production", "staging"):
            unit.record(env, "environment", env, "create", None, {"name": env})
    tokens = issue_tokens(store)
    store.engine.dispose()
    return Template(path, tokens)


def copy_store(template: Path, directory: Path) -> SqlFlagStore:
    target = directory / "flagramp.db"
    shutil.copyfile(template, target)
    key = template.with_name(template.name + ".audit-key")
    if key.exists():
        shutil.copyfile(key, target.with_name(target.name + ".audit-key"))
    return SqlFlagStore(open_engine(f"sqlite:///{target}", migrate=False))


@pytest.fixture
def server_store(server_template: Template, tmp_path: Path) -> SqlFlagStore:
    return copy_store(server_template.path, tmp_path)


class InProcess:
    """A synchronous HTTP client for an ASGI app in this process (no lifespan:
    the change hub does not run; streams are tested on a real server)."""

    def __init__(self, app: FastAPI) -> None:
        self.transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        async def send() -> httpx.Response:
            async with httpx.AsyncClient(
                transport=self.transport, base_url="http://flagramp.test"
            ) as client:
                response = await client.request(method, path, **kwargs)
                await response.aread()
                return response

        return anyio.run(send)

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("PUT", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("DELETE", path, **kwargs)


@dataclass
class Api:
    """The app in process, its store, and one token per permission."""

    app: FastAPI
    store: SqlFlagStore
    client: InProcess
    tokens: dict[str, str]
    clock: VirtualClock

    def headers(self, who: str) -> dict[str, str]:
        """`Authorization` for a token by its name (`viewer`, …, `sdk`,
        `sdk_staging`, `revoked`)."""
        return {"authorization": f"Bearer {self.tokens[who]}"}


def issue_tokens(store: SqlFlagStore) -> dict[str, str]:
    """A token for every permission, an SDK token per environment, a revoked one."""
    issuer = TokenStore(store)
    tokens = {
        role.value: issuer.issue(
            owner=f"{role.value}@example.org",
            owner_kind=OwnerKind.PERSON,
            permission=role,
            author=SETUP,
        ).token
        for role in ROLES
    }
    for env, name in (("production", "sdk"), ("staging", "sdk_staging")):
        tokens[name] = issuer.issue(
            owner=f"app-{env}",
            owner_kind=OwnerKind.SERVICE,
            permission=Permission.SDK,
            environment=env,
            author=SETUP,
        ).token
    revoked = issuer.issue(
        owner="gone@example.org",
        owner_kind=OwnerKind.PERSON,
        permission=Permission.ADMIN,
        author=SETUP,
    )
    issuer.revoke(revoked.record.id, SETUP)
    tokens["revoked"] = revoked.token
    return tokens


@pytest.fixture
def api(server_store: SqlFlagStore, server_template: Template) -> Api:
    clock = VirtualClock()
    app = create_app(ServerSettings(), store=server_store, clock=clock)
    return Api(
        app,
        server_store,
        InProcess(app),
        dict(server_template.tokens),
        clock,
    )
