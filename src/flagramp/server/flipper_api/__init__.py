"""Flipper's HTTP API (`Flipper::Api`, 0.25 to 1.4) over flagramp's store.

`flipper_api(store)` is an ASGI app that answers as Flipper's own API does, so a
Ruby app's `Flipper::Adapters::Http` (or Flipper Cloud's client) can point at
flagramp unchanged. The server mounts it at `/flipper/api`.
"""

from __future__ import annotations

from flagramp.server.flipper_api.app import flipper_api
from flagramp.server.flipper_api.auth import (
    FLIPPER_API_AUTHOR,
    Authorize,
    Caller,
    allow_everyone,
    token_from_headers,
    token_table,
)
from flagramp.server.flipper_api.errors import FlipperApiError

__all__ = [
    "FLIPPER_API_AUTHOR",
    "Authorize",
    "Caller",
    "FlipperApiError",
    "allow_everyone",
    "flipper_api",
    "token_from_headers",
    "token_table",
]
