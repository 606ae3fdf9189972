"""Middleware attribution: real ASGI and WSGI apps under a real HTTP client."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable, Iterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Mount, Route

from flagramp.core.event_parsing import parse_batch
from flagramp.core.flags import Flag, Percentage
from flagramp.sdk import ASGIMiddleware, Client, WSGIMiddleware
from tests.sdk.fake_server import FakeServer
from tests.sdk.helpers import serving, snapshot_of

FLAGS = [
    Flag(
        key="new_flow", actors=("User;1",), percentage_of_actors=Percentage.parse("50")
    ),
    Flag(key="kill_switch", boolean=True),
]


class UpstreamTimeout(Exception):
    """An error of the app's own, as a real app's client library raises."""


@pytest.fixture
def server() -> Iterator[FakeServer]:
    server = FakeServer()
    yield server
    server.close()


@pytest.fixture
def client(server: FakeServer) -> Iterator[Client]:
    with Client(
        "http://flags.test",
        "t",
        "production",
        transport=server.transport(),
        bootstrap=snapshot_of(FLAGS),
        updates="off",
        flush_interval=3600,
    ) as client:
        yield client


def requests_of(server: FakeServer) -> list[dict[str, Any]]:
    return [e for e in server.events() if e["type"] == "request"]


def starlette_app(client: Client, **options: Any) -> Starlette:
    def actor_of(request: Request) -> str:
        return request.headers.get("x-user", "")

    async def appointment(request: Request) -> JSONResponse:
        on = client.is_enabled("new_flow", actor_of(request))
        client.is_enabled("kill_switch")  # no actor: noted, the actor stays
        variants = client.current_variants()  # what a metric would be labelled
        return JSONResponse(variants, status_code=200 if on else 202)

    def blocking(request: Request) -> PlainTextResponse:  # starlette's threadpool
        client.is_enabled("kill_switch", actor_of(request))
        return PlainTextResponse("ok")

    async def boom(request: Request) -> PlainTextResponse:
        client.is_enabled("new_flow", actor_of(request))
        raise UpstreamTimeout("oracle took 23 s")

    async def quiet(request: Request) -> PlainTextResponse:
        return PlainTextResponse("no flag here")

    async def item(request: Request) -> PlainTextResponse:
        client.is_enabled("kill_switch", actor_of(request))
        await asyncio.sleep(0.01)
        return PlainTextResponse("item")

    app = Starlette(
        routes=[
            Route("/appointments/{id}", appointment),
            Route("/blocking/{id}", blocking),
            Route("/boom/{id}", boom),
            Route("/quiet", quiet),
            Mount("/api", routes=[Route("/items/{item_id}", item)]),
        ]
    )
    app.add_middleware(ASGIMiddleware, client=client, **options)
    return app


def get_all(app: Starlette, paths: list[tuple[str, str]]) -> list[int]:
    return [r.status_code for r in get_responses(app, paths)]


def get_responses(app: Starlette, paths: list[tuple[str, str]]) -> list[httpx.Response]:
    async def run() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://app"
        ) as http:
            return list(
                await asyncio.gather(
                    *(http.get(path, headers={"x-user": user}) for path, user in paths)
                )
            )

    return asyncio.run(run())


def test_each_request_carries_its_status_route_template_and_flags(
    server: FakeServer, client: Client
) -> None:
    app = starlette_app(client, name="sm_request")
    statuses = get_all(
        app,
        [
            ("/appointments/17", "User;1"),
            ("/blocking/3", "User;2"),
            ("/boom/9", "User;3"),
            ("/api/items/5", "User;4"),
            ("/quiet", "User;5"),
        ],
    )
    assert statuses == [200, 200, 500, 200, 200]
    assert client.flush()
    by_route = {e["route"]: e for e in requests_of(server)}
    assert sorted(by_route) == [
        "/api/items/{item_id}",
        "/appointments/{id}",
        "/blocking/{id}",
        "/boom/{id}",
    ]  # /quiet evaluated no flag: nobody to attribute it to
    appointment = by_route["/appointments/{id}"]
    assert (appointment["actor"], appointment["status"]) == ("User;1", 200)
    assert appointment["flags"] == {"new_flow": "on", "kill_switch": "on"}
    assert appointment["name"] == "sm_request" and appointment["error"] is None
    assert by_route["/blocking/{id}"]["flags"] == {"kill_switch": "on"}
    boom = by_route["/boom/{id}"]
    assert boom["status"] == 500
    assert boom["error"] == "tests.sdk.test_middleware.UpstreamTimeout /boom/{id}"
    assert by_route["/api/items/{item_id}"]["latency_ms"] >= 10.0
    assert parse_batch(requests_of(server)).rejected == ()


def test_concurrent_requests_never_see_each_others_flags(
    server: FakeServer, client: Client
) -> None:
    users = [f"User;{i}" for i in range(60)]
    statuses = get_all(
        starlette_app(client), [(f"/appointments/{u}", u) for u in users]
    )
    assert client.flush()
    events = {e["actor"]: e for e in requests_of(server)}
    assert sorted(events) == sorted(users)
    for user, status in zip(users, statuses, strict=True):
        expected = "on" if client.is_enabled("new_flow", user) else "off"
        assert events[user]["flags"] == {"new_flow": expected, "kill_switch": "on"}
        assert events[user]["status"] == status == (200 if expected == "on" else 202)


def test_the_app_reads_its_requests_variants_to_label_metrics(client: Client) -> None:
    users = [f"User;{i}" for i in range(20)]
    responses = get_responses(
        starlette_app(client), [(f"/appointments/{u}", u) for u in users]
    )
    for user, response in zip(users, responses, strict=True):
        expected = "on" if client.is_enabled("new_flow", user) else "off"
        assert response.json() == {"new_flow": expected, "kill_switch": "on"}
    assert client.current_variants() == {}  # outside any request


def test_the_apps_hooks_name_the_route_and_the_actor(
    server: FakeServer, client: Client
) -> None:
    app = starlette_app(
        client,
        route=lambda scope: "custom-route",
        actor=lambda scope: "Account;7",
    )
    get_all(app, [("/quiet", ""), ("/appointments/1", "User;1")])
    assert client.flush()
    assert [(e["actor"], e["route"]) for e in requests_of(server)] == [
        ("Account;7", "custom-route"),
        ("Account;7", "custom-route"),
    ]


def test_a_broken_hook_falls_back_to_the_defaults(
    server: FakeServer, client: Client
) -> None:
    def broken(scope: Any) -> str:
        raise KeyError("user")

    get_all(
        starlette_app(client, route=broken, actor=broken), [("/blocking/2", "User;2")]
    )
    assert client.flush()
    assert [(e["actor"], e["route"]) for e in requests_of(server)] == [
        ("User;2", "/blocking/{id}")
    ]


def test_the_middleware_works_under_uvicorn_on_a_socket(
    server: FakeServer, client: Client
) -> None:
    app = starlette_app(client)
    with serving(app) as base, httpx.Client(base_url=base) as http:
        assert (
            http.get("/appointments/4", headers={"x-user": "User;1"}).status_code == 200
        )
        assert http.get("/boom/1", headers={"x-user": "User;2"}).status_code == 500
    assert client.flush()
    routes = sorted((e["route"], e["status"]) for e in requests_of(server))
    assert routes == [("/appointments/{id}", 200), ("/boom/{id}", 500)]


def wsgi_app(client: Client) -> Any:
    def app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        user = environ.get("HTTP_X_USER", "")
        path = environ["PATH_INFO"]
        if path == "/fail":
            client.is_enabled("new_flow", user)
            raise UpstreamTimeout("down")
        if path == "/stream":
            start_response("200 OK", [("content-type", "text/plain")])

            def body() -> Iterator[bytes]:
                yield b"a"
                client.is_enabled("kill_switch", user)  # while the body streams
                time.sleep(0.01)
                yield b"b"

            return body()
        on = client.is_enabled("new_flow", user)
        start_response("404 Not Found" if not on else "200 OK", [])
        return [b"done"]

    return app


def test_wsgi_requests_are_attributed_including_streamed_bodies(
    server: FakeServer, client: Client
) -> None:
    wrapped = WSGIMiddleware(
        wsgi_app(client),
        client,
        route=lambda env: env["PATH_INFO"].rstrip("0123456789"),
    )
    transport = httpx.WSGITransport(app=wrapped, raise_app_exceptions=False)
    with httpx.Client(transport=transport, base_url="http://app") as http:
        assert http.get("/stream", headers={"x-user": "User;1"}).text == "ab"
        assert http.get("/page/12", headers={"x-user": "User;1"}).status_code == 200
        with pytest.raises(UpstreamTimeout):  # the middleware re-raises it
            http.get("/fail", headers={"x-user": "User;2"})
    assert client.flush()
    events = [
        (e["route"], e["status"], e["flags"], e["error"]) for e in requests_of(server)
    ]
    assert events == [
        ("/stream", 200, {"kill_switch": "on"}, None),
        ("/page/", 200, {"new_flow": "on"}, None),
        (
            "/fail",
            500,
            {"new_flow": client.evaluate("new_flow", "User;2").variant},
            "tests.sdk.test_middleware.UpstreamTimeout /fail",
        ),
    ]
    assert requests_of(server)[0]["latency_ms"] >= 10.0


def test_a_request_does_not_leak_its_flags_into_the_next_on_a_thread(
    server: FakeServer, client: Client
) -> None:
    wrapped = WSGIMiddleware(wsgi_app(client), client)
    transport = httpx.WSGITransport(app=wrapped)
    with httpx.Client(transport=transport, base_url="http://app") as http:
        http.get("/stream", headers={"x-user": "User;1"})
    client.is_enabled("new_flow", "User;1")  # outside any request
    assert client._request_var.get() is None
    assert client.flush()
    assert len(requests_of(server)) == 1
