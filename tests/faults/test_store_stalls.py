"""A PostgreSQL that accepts connections and never answers fails, not hangs."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import event, text
from sqlalchemy.exc import OperationalError

from flagramp.store.database import POSTGRES_TIMEOUTS, open_engine


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections and never says a word."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    server.close()


def test_connecting_to_a_silent_server_gives_up(silent_port: int) -> None:
    url = (
        f"postgresql+psycopg://postgres@127.0.0.1:{silent_port}/test?connect_timeout=2"
    )
    engine = open_engine(url, migrate=False)
    started = time.monotonic()
    with pytest.raises(OperationalError), engine.connect() as conn:
        conn.execute(text("select 1"))
    assert time.monotonic() - started < 8


class _Seen(Exception):
    pass


def _connect_parameters(url: str) -> dict[str, object]:
    """What the driver would be asked to connect with (nothing is dialled)."""
    engine = open_engine(url, migrate=False)
    seen: dict[str, object] = {}

    def capture(
        dialect: object, record: object, cargs: object, cparams: dict[str, object]
    ) -> None:
        seen.update(cparams)
        raise _Seen

    event.listen(engine, "do_connect", capture)
    with pytest.raises(_Seen):
        engine.connect()
    return seen


def test_the_default_timeouts_apply_unless_the_url_gives_its_own() -> None:
    base = "postgresql+psycopg://postgres@127.0.0.1:1/test"
    default = _connect_parameters(base)
    assert default["connect_timeout"] == POSTGRES_TIMEOUTS["connect_timeout"]
    assert default["keepalives"] == 1
    own = _connect_parameters(f"{base}?connect_timeout=3")
    assert own["connect_timeout"] == "3"
