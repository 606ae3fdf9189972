"""The server on a real uvicorn, on a free loopback port, in a thread or a process."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

import httpx
import uvicorn
from starlette.types import ASGIApp

from flagramp.core.flags import Flag
from flagramp.server.uvicorn_protocol import HTTP_PROTOCOL
from flagramp.store import SqlFlagStore
from flagramp.store.tokens import OwnerKind, Permission, TokenStore
from tests.server.conftest import SETUP

_MAIN = "from flagramp.cli.app import main; main()"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on (now)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def stalled_get(url: str, path: str, headers: str) -> socket.socket:
    """A GET of `path` (with header lines `headers`, each ending in CRLF) on
    a new connection to the server at `url` whose answer will not be read:
    its receive window is small from the start."""
    where = urlsplit(url)
    stalled = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)
    stalled.connect((where.hostname, where.port))
    stalled.sendall(
        f"GET {path} HTTP/1.1\r\nHost: {where.netloc}\r\n{headers}\r\n".encode()
    )
    return stalled


def seed_for_serving(url: str) -> tuple[str, str]:
    """Put flag `new_flow` (off) in the store at `url` and issue an engineer's
    and a production SDK token; answers (engineer, sdk). The engine is disposed,
    so the server processes own the database."""
    store = SqlFlagStore.open(url)
    store.create_flag(Flag(key="new_flow"), SETUP)
    issuer = TokenStore(store)
    engineer = issuer.issue(
        owner="eng@example.org",
        owner_kind=OwnerKind.PERSON,
        permission=Permission.ENGINEER,
        author=SETUP,
    ).token
    sdk = issuer.issue(
        owner="app",
        owner_kind=OwnerKind.SERVICE,
        permission=Permission.SDK,
        environment="production",
        author=SETUP,
    ).token
    store.engine.dispose()
    return engineer, sdk


@contextmanager
def serving(
    app: ASGIApp,
    *,
    lifespan: Literal["on", "off"] = "on",
    send_buffer: int | None = None,
    http: type[asyncio.Protocol] | str = HTTP_PROTOCOL,
) -> Iterator[str]:
    """Serve `app` (with its lifespan, unless `lifespan="off"`) in a thread;
    yields its base URL. The one thread server of the tests. `send_buffer`
    fixes the kernel's send buffer of every connection (bytes; the accepted
    sockets inherit it), so a client that stops reading blocks the server soon."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if send_buffer is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, send_buffer)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, http=http, log_level="warning", lifespan=lifespan)
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, daemon=True
    )
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        sock.close()


@contextmanager
def server_process(database_url: str, workdir: Path) -> Iterator[str]:
    """`flagramp serve` in a process of its own; yields its base URL."""
    with serve_process(database_url, workdir) as (url, _):
        yield url


@contextmanager
def serve_process(
    database_url: str,
    workdir: Path,
    *,
    workers: int = 1,
    port: int | None = None,
    options: Sequence[str] = (),
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """`flagramp serve` (`--workers N`, and `options`) in a process of its own,
    on `port` (a free one by default; a test restarting a server passes the
    same one); yields its base URL and the process (for its pid). Its output
    goes to `serve-<port>-<n>.log` in `workdir`."""
    port = free_port() if port is None else port
    env = {**os.environ, "FLAGRAMP_DATABASE_URL": database_url}
    # A log per start: a server restarted on the same port must not overwrite it.
    log_path = workdir / f"serve-{port}-{time.monotonic_ns()}.log"
    log = log_path.open("wb")
    extra = ["--workers", str(workers)] if workers > 1 else []
    process = subprocess.Popen(
        [sys.executable, "-c", _MAIN, "serve", "--port", str(port), *extra, *options],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=workdir,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        # Workers start one after another, each importing flagramp.
        deadline = time.monotonic() + 30 * workers
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"flagramp serve exited: {_tail(log_path)}")
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"flagramp serve did not start: {_tail(log_path)}")
            time.sleep(0.1)
        yield url, process
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
        log.close()


def _tail(log: Path) -> str:
    return log.read_text(errors="replace")[-2000:]


def worker_pids(process: subprocess.Popen[bytes]) -> list[int]:
    """The uvicorn worker processes under `flagramp serve --workers N` (Linux)."""
    children = Path(f"/proc/{process.pid}/task/{process.pid}/children")
    pids = [int(pid) for pid in children.read_text().split()]
    return [
        pid
        for pid in pids
        if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()
    ]


def connections_held(pid: int, port: int) -> int:
    """How many established TCP connections to `port` process `pid` holds
    (which worker a kept-open stream landed on; Linux)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue  # closed meanwhile
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    held = 0
    for line in Path(f"/proc/{pid}/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local_port = int(fields[1].rsplit(":", 1)[1], 16)
        if local_port == port and fields[3] == "01" and fields[9] in inodes:
            held += 1
    return held
