"""`AsyncClient`: the same client on asyncio, with tasks instead of threads."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from flagramp.core.flags import Flag
from flagramp.sdk import ASGIMiddleware, AsyncClient, FlagsChanged
from tests.sdk.fake_server import FakeServer
from tests.sdk.helpers import snapshot_of


@pytest.fixture
def server() -> Iterator[FakeServer]:
    server = FakeServer(is_async=True)
    server.set_flag(Flag(key="a", boolean=True))
    yield server
    server.close()


def client_for(server: FakeServer, **options: Any) -> AsyncClient:
    settings: dict[str, Any] = {"retry_base": 0.01, "retry_max": 0.05, **options}
    return AsyncClient(
        "http://flags.test", "t", "production", transport=server.transport(), **settings
    )


async def until(condition: Any, timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.005)


def test_the_stream_keeps_an_async_client_current_across_reconnects(
    server: FakeServer,
) -> None:
    async def run() -> list[FlagsChanged]:
        changes: list[FlagsChanged] = []
        async with client_for(server, send_events=False) as client:
            client.on_change(changes.append)
            assert await client.wait_until_ready(5)
            server.set_flag(Flag(key="b", boolean=True))
            await until(lambda: client.version == server.version)
            server.end_streams()
            server.set_flag(Flag(key="a"))
            await until(lambda: client.version == server.version)
            assert client.is_enabled("a") is False and client.is_enabled("b")
        return changes

    changes = asyncio.run(run())
    assert [c.keys for c in changes] == [
        ("a",),
        ("b",),
        ("a",),
    ]  # the first: a snapshot
    ids = [
        r.headers.get("last-event-id")
        for r in server.requests
        if r.url.path == "/api/v1/stream"
    ]
    assert ids == [None, "3"]


def test_polling_and_events_on_asyncio(server: FakeServer) -> None:
    async def run() -> None:
        client = client_for(server, updates="poll", poll_interval=0.01, batch_size=5)
        assert client.is_enabled("a", default=True) is True  # not started: default
        await client.start()
        assert await client.wait_until_ready(5)
        for i in range(12):
            client.is_enabled("a", f"User;{i}")
        await until(lambda: len(server.events()) >= 10)  # two full batches, unasked
        await client.aclose()

    asyncio.run(run())
    assert len(server.events()) == 12
    assert [len(b["events"]) for b in server.batches] == [5, 5, 2]


def test_evaluations_and_tracking_from_other_threads_reach_the_loop(
    server: FakeServer,
) -> None:
    async def run() -> None:
        async with client_for(server, batch_size=50, flush_interval=3600) as client:
            await client.wait_until_ready(5)

            def work(offset: int) -> None:
                for i in range(25):
                    client.is_enabled("a", f"User;{offset + i}")

            threads = [threading.Thread(target=work, args=(n * 25,)) for n in range(4)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            await until(lambda: len(server.events()) >= 50)

    asyncio.run(run())
    actors = [e["actor"] for e in server.events()]
    assert sorted(actors) == sorted(f"User;{i}" for i in range(100))


def test_asgi_middleware_with_an_async_client(server: FakeServer) -> None:
    async def run() -> None:
        client = client_for(
            server,
            bootstrap=snapshot_of([Flag(key="a", boolean=True)]),
            updates="off",
            flush_interval=3600,
        )
        await client.start()

        async def page(request: Request) -> PlainTextResponse:
            client.is_enabled("a", request.headers["x-user"])
            return PlainTextResponse("ok")

        app = Starlette(routes=[Route("/page/{n}", page)])
        app.add_middleware(ASGIMiddleware, client=client)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://app") as h:
            await h.get("/page/1", headers={"x-user": "User;1"})
        await client.aclose()

    asyncio.run(run())
    requests = [e for e in server.events() if e["type"] == "request"]
    assert [(r["route"], r["flags"]) for r in requests] == [("/page/{n}", {"a": "on"})]


def test_an_async_client_that_cannot_reach_the_server_is_not_ready(
    server: FakeServer,
) -> None:
    server.down = True

    async def run() -> tuple[bool, bool]:
        async with client_for(server) as client:
            ready = await client.wait_until_ready(0.1)
            return ready, client.is_enabled("a", "User;1", default=True)

    assert asyncio.run(run()) == (False, True)
