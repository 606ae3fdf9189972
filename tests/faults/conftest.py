"""Fixtures of the fault tests: PostgreSQL through a proxy the test cuts."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from tests.faults.proxy import TcpProxy, proxied
from tests.services import POSTGRES_URL, require_port


@pytest.fixture
def pg_proxy() -> Iterator[TcpProxy]:
    """A proxy in front of the test PostgreSQL (skips when it is absent)."""
    target = sa.engine.make_url(POSTGRES_URL)
    host, port = target.host or "127.0.0.1", target.port or 5432
    require_port("PostgreSQL", host, port)
    with proxied(host, port) as proxy:
        yield proxy


def through(proxy: TcpProxy, url: str) -> str:
    """`url` with its host and port the proxy's."""
    return (
        sa.engine.make_url(url)
        .set(host="127.0.0.1", port=proxy.port)
        .render_as_string(hide_password=False)
    )
