"""`flagramp demo --serve`: the server on the demo's own store, watched live.

`serving` starts `flagramp serve`'s app (`server.app.create_app`) under uvicorn
in a thread of the demo's process, on a loopback port (a free one unless told),
on the demo's store and its virtual clock, so that the dashboard shows the run
as the demo moves it and in the demo's time. It also issues the demo's watcher
a viewer token: a person who sees every page and can change nothing, since the
demo's people make every decision. Dashboard sessions age in real time (the
virtual clock runs weeks ahead during the demo).

`serve_until_interrupted` keeps the server up after the run until Ctrl-C;
`interruptible` makes sure Ctrl-C (and SIGTERM) reach the demo as
KeyboardInterrupt while it serves, even when started with SIGINT ignored (as a
shell's background job is), since a served demo ends only that way.
"""

from __future__ import annotations

import logging
import signal
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import FrameType

import uvicorn
from sse_starlette.sse import AppStatus

from flagramp.core.clock import Clock, SystemClock
from flagramp.server.app import create_app
from flagramp.server.settings import ServerSettings
from flagramp.server.uvicorn_protocol import HTTP_PROTOCOL
from flagramp.store import Author, SqlFlagStore
from flagramp.store.tokens import OwnerKind, Permission, TokenStore

__all__ = [
    "DEFAULT_PACE",
    "WATCHER",
    "DemoServer",
    "ServeFailed",
    "interruptible",
    "serve_until_interrupted",
    "serving",
]

#: Real seconds per turn of the demo's loop under --serve. The VAOS run takes
#: about 90 turns (measured, with or without --fast), so it lasts some two
#: minutes more than unpaced: the dashboard, polling every 5 s, shows each
#: stage for several refreshes.
DEFAULT_PACE = 1.0
#: Who the demo's dashboard token belongs to (a viewer).
WATCHER = "demo-watcher@example.gov"
#: How long uvicorn gets to start, and to stop.
_START_SECONDS = 15.0
_STOP_SECONDS = 10.0


class ServeFailed(Exception):
    """The demo's server could not start (the port is taken, …)."""


@dataclass(frozen=True, slots=True)
class DemoServer:
    """The running server: where it is and how to log in."""

    url: str
    token: str
    thread: threading.Thread

    @property
    def dashboard(self) -> str:
        """The dashboard's login page."""
        return f"{self.url}/dashboard/login"


def _bind(port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(("127.0.0.1", port))
    except OSError as exc:
        sock.close()
        raise ServeFailed(
            f"cannot listen on 127.0.0.1:{port}: {exc.strerror or exc}"
        ) from None
    return sock


def _watcher_token(store: SqlFlagStore) -> str:
    issued = TokenStore(store).issue(
        owner=WATCHER,
        owner_kind=OwnerKind.PERSON,
        permission=Permission.VIEWER,
        environment=None,
        description="flagramp demo --serve: watch the run on the dashboard",
        author=Author("flagramp-demo", "demo --serve"),
    )
    return issued.token


@contextmanager
def serving(store: SqlFlagStore, clock: Clock, port: int = 0) -> Iterator[DemoServer]:
    """Serve the app on `store` at 127.0.0.1:`port` (0: a free port) until
    exit; raises ServeFailed if it cannot listen or does not start."""
    sock = _bind(port)
    app = create_app(
        ServerSettings(), store=store, clock=clock, session_clock=SystemClock()
    )
    # Quiet: the demo's own display owns the terminal (the access log would
    # tear it); warnings and errors still show.
    config = uvicorn.Config(
        app,
        http=HTTP_PROTOCOL,
        log_level="warning",
        access_log=False,
        server_header=False,
    )
    server = uvicorn.Server(config)
    # uvicorn installs no signal handlers off the main thread: Ctrl-C stays
    # the demo's, which stops the server itself.
    thread = threading.Thread(
        target=server.run,
        kwargs={"sockets": [sock]},
        name="flagramp demo server",
        daemon=True,
    )
    thread.start()
    deadline = time.monotonic() + _START_SECONDS
    try:
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise ServeFailed("the demo's server did not start")
            time.sleep(0.02)
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        yield DemoServer(url, _watcher_token(store), thread)
    finally:
        server.should_exit = True
        # uvicorn waits for every open connection to close, and sse-starlette
        # ends its streams (the flag stream, the dashboard's) only when told:
        # by a signal uvicorn handled, which it does not off the main thread,
        # or by this flag. It is process-wide, so it is put back once the
        # server is gone (another server in this process would lose its streams).
        AppStatus.should_exit = True
        quiet = _StreamsCut()
        uvicorn_log = logging.getLogger("uvicorn.error")
        uvicorn_log.addFilter(quiet)
        try:
            thread.join(_STOP_SECONDS)
        finally:
            AppStatus.should_exit = False
            uvicorn_log.removeFilter(quiet)
        sock.close()


class _StreamsCut(logging.Filter):
    """Drops uvicorn's complaint about the streams cut on exit: sse-starlette
    ends them without a last chunk, which is what the demo asked for."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "without completing response" not in record.getMessage()


def serve_until_interrupted(server: DemoServer) -> None:
    """Return on Ctrl-C (or if the server stops by itself)."""
    try:
        while server.thread.is_alive():
            server.thread.join(0.5)
    except KeyboardInterrupt:
        return


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


@contextmanager
def interruptible() -> Iterator[None]:
    """While inside: SIGINT and SIGTERM raise KeyboardInterrupt (main thread
    only; elsewhere nothing changes)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    before = {
        sig: signal.signal(sig, _interrupt) for sig in (signal.SIGINT, signal.SIGTERM)
    }
    try:
        yield
    finally:
        for sig, handler in before.items():
            signal.signal(sig, handler)
