"""The runs routes' fixture: the app in process on a virtual clock, people's
tokens for the small plan's roles, and a controller ticked by hand."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from flagramp.engine.controller import Controller, TickReport
from flagramp.server.state import ServerState
from flagramp.store.tokens import OwnerKind, Permission, TokenStore
from flagramp.store.windows import WindowStore
from tests.engine.run_support import healthy
from tests.server.conftest import SETUP, Api
from tests.server.routes.run_plan import ENG, PLAN, PO

YAML = {"content-type": "application/yaml"}


@dataclass
class Runs:
    """The API, a controller on its store and clock, and tokens by name:
    `eng`, `po` (the plan's people), `outsider` (an engineer in no role),
    `service` (an engineer service), and the conftest's."""

    api: Api
    controller: Controller

    def call(
        self,
        method: str,
        path: str,
        who: str = "eng",
        headers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        sent = {**self.api.headers(who), **(headers or {})}
        return self.api.client.request(method, f"/api/v1{path}", headers=sent, **kwargs)

    def start(self, text: str = PLAN, who: str = "eng") -> str:
        answer = self.call("POST", "/runs", who, YAML, content=text)
        assert answer.status_code == 201, answer.text
        run: str = answer.json()["run"]
        return run

    def command(
        self, run: str, name: str, who: str = "eng", **body: Any
    ) -> httpx.Response:
        return self.call("POST", f"/runs/{run}/{name}", who, json=body)

    def show(self, run: str = "R1", who: str = "viewer") -> dict[str, Any]:
        answer = self.call("GET", f"/runs/{run}", who)
        assert answer.status_code == 200, answer.text
        found: dict[str, Any] = answer.json()
        return found

    def tick(self, after: dt.timedelta = dt.timedelta(0)) -> TickReport:
        self.api.clock.advance(after)
        return self.controller.tick()

    def to_go_no_go(self, run: str = "R1") -> None:
        """Sign the prerequisite and hold the canary: the go/no-go is asked."""
        assert self.command(run, "sign", item=1).status_code == 200
        self.tick()
        self.tick(dt.timedelta(hours=1, minutes=5))
        assert self.show(run)["status"] == "awaiting_go_no_go"


def _person(api: Api, owner: str, kind: OwnerKind = OwnerKind.PERSON) -> str:
    issued = TokenStore(api.store).issue(
        owner=owner, owner_kind=kind, permission=Permission.ENGINEER, author=SETUP
    )
    return issued.token


@pytest.fixture
def runs(api: Api) -> Runs:
    api.tokens |= {
        "eng": _person(api, ENG),
        "po": _person(api, PO),
        "outsider": _person(api, "someone@va.gov"),
        "service": _person(api, "deployer", OwnerKind.SERVICE),
    }
    state = api.app.state.flagramp
    assert isinstance(state, ServerState)
    controller = Controller(
        api.store,
        WindowStore(api.store.engine),
        api.clock,
        evaluate=healthy,
        send=None,
    )
    return Runs(api, controller)
