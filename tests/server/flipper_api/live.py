"""A real uvicorn server for the Flipper API alone, at its mount path."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.types import ASGIApp

from tests.server.flipper_api.adapter_client import MOUNT
from tests.server.live_server import serving as serving_app


@contextmanager
def serving(api: ASGIApp) -> Iterator[str]:
    """Serve `api` mounted at /flipper/api (no lifespan); yields its base URL."""
    app = Starlette(routes=[Mount(MOUNT, app=api)])
    with serving_app(app, lifespan="off") as base:
        yield f"{base}{MOUNT}"
