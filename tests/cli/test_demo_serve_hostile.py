"""`flagramp demo --serve`'s server, attacked in process: it listens on
loopback only, its printed viewer token changes nothing, and leaving it (what
Ctrl-C does) ends open streams at once and leaves no server thread behind."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import httpx

from flagramp.cli.demo_serve import serving
from flagramp.core.clock import SystemClock
from flagramp.store import open_store


def test_the_demo_server_is_on_loopback_and_its_token_is_a_viewers(
    tmp_path: Path,
) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'demo.db'}")
    with serving(store, SystemClock()) as server:
        assert server.url.startswith("http://127.0.0.1:")
        auth = {"Authorization": f"Bearer {server.token}"}
        with httpx.Client(base_url=server.url, headers=auth, timeout=10) as client:
            assert client.get("/api/v1/runs").status_code == 200
            for path in [
                "/api/v1/backups",
                "/api/v1/tokens",
                "/api/v1/flags",
                "/api/v1/flags/anything/enable",
            ]:
                answer = client.post(path, json={})
                assert answer.status_code == 403, (path, answer.text)


def test_leaving_the_demo_server_ends_an_open_stream_at_once(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'demo.db'}")
    opened = threading.Event()
    ended = threading.Event()

    def listen(url: str, token: str) -> None:
        try:
            with httpx.stream(
                "GET",
                f"{url}/api/v1/stream?environment=production",
                headers={"Authorization": f"Bearer {token}"},
                timeout=20,
            ) as answer:
                opened.set()
                for _chunk in answer.iter_bytes():
                    pass
        except httpx.HTTPError:
            pass  # cut off by the server going: what is wanted
        finally:
            ended.set()

    with serving(store, SystemClock()) as server:
        reader = threading.Thread(
            target=listen, args=(server.url, server.token), daemon=True
        )
        reader.start()
        assert opened.wait(10)
        left = time.monotonic()
    took = time.monotonic() - left
    # Before the fix uvicorn waited for the stream until the 10 s join gave up,
    # and the server thread lived on.
    assert took < 5, took
    assert not server.thread.is_alive()
    assert ended.wait(5)
    reader.join(5)
