"""Real services the tests talk to, and what happens when one is absent.

A test that needs a service skips only when it is absent; with
FLAGRAMP_REQUIRE_SERVICES=1 (CI) the same absence is a failure.
"""

from __future__ import annotations

import os
import shutil
import socket

import pytest

POSTGRES_URL = os.environ.get(
    "FLAGRAMP_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
#: The MariaDB (or MySQL) server; tests make a database of their own on it.
MARIADB_URL = os.environ.get(
    "FLAGRAMP_TEST_MARIADB_URL", "mysql+pymysql://root@127.0.0.1:3306/test"
)


def services_required() -> bool:
    return os.environ.get("FLAGRAMP_REQUIRE_SERVICES", "") not in ("", "0")


def absent(what: str) -> None:
    """Skip (or, when services are required, fail) because `what` is missing."""
    if services_required():
        pytest.fail(f"{what} is required (FLAGRAMP_REQUIRE_SERVICES=1) but absent")
    pytest.skip(f"{what} is absent")


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def require_port(name: str, host: str, port: int) -> None:
    if not port_open(host, port):
        absent(f"{name} on {host}:{port}")


def require_binary(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        absent(f"the `{name}` program")
        raise AssertionError("unreachable")
    return path
