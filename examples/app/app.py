"""A small FastAPI service instrumented with flagramp's SDK middleware.

`GET /checkout?user=ID` answers through the new code path when the flag
`new_checkout` is on for `User;ID`, else through the old one. Every request's
outcome (status, latency, an exception fingerprint) is attributed to the flag
by `ASGIMiddleware` and sent to the server in batches.

Settings come from the environment:

- `FLAGRAMP_URL`: the server (`http://127.0.0.1:8000`)
- `FLAGRAMP_SDK_TOKEN`: an SDK token of the environment
- `FLAGRAMP_ENVIRONMENT`: `production` unless told
- `APP_FLAG`: the flag that gates the new path (`new_checkout`)
- `APP_ERROR_RATE`: the share (0..1) of new-path requests that fail with 500,
  the regression a plan should catch (`0`)
- `APP_FLUSH_SECONDS`: how often the SDK sends its events (`1`)

Run it with `uvicorn examples.app.app:app --port 8100` (see README.md).
"""

from __future__ import annotations

import contextlib
import os
import random
from collections.abc import AsyncIterator

from fastapi import FastAPI, HTTPException

from flagramp.sdk import ASGIMiddleware, AsyncClient

FLAG = os.environ.get("APP_FLAG", "new_checkout")
ERROR_RATE = float(os.environ.get("APP_ERROR_RATE", "0"))

client = AsyncClient(
    os.environ.get("FLAGRAMP_URL", "http://127.0.0.1:8000"),
    os.environ.get("FLAGRAMP_SDK_TOKEN"),
    os.environ.get("FLAGRAMP_ENVIRONMENT", "production"),
    flush_interval=float(os.environ.get("APP_FLUSH_SECONDS", "1")),
    # Polling keeps the demo's server free of long-lived streams; a real app
    # keeps the default (SSE).
    updates=os.environ.get("APP_UPDATES", "stream"),
    poll_interval=float(os.environ.get("APP_POLL_SECONDS", "2")),
)


class PaymentFailed(RuntimeError):
    """The new checkout path's injected failure."""


@contextlib.asynccontextmanager
async def lifespan(_: FastAPI) -> AsyncIterator[None]:
    await client.start()
    await client.wait_until_ready(timeout=10)
    try:
        yield
    finally:
        await client.aclose()


api = FastAPI(title="flagramp example app", lifespan=lifespan)


@api.get("/checkout")
async def checkout(user: str) -> dict[str, str]:
    """The flag-gated route: the new path for users the flag is on for."""
    if not client.is_enabled(FLAG, f"User;{user}"):
        return {"user": user, "path": "old"}
    if random.random() < ERROR_RATE:
        # Raised, not returned: the middleware fingerprints the exception.
        raise PaymentFailed("the new payment provider timed out")
    return {"user": user, "path": "new"}


@api.get("/health")
async def health() -> dict[str, str]:
    """Ready once the SDK holds the server's flags."""
    if client.version is None:
        raise HTTPException(503, "no flags yet")
    return {"status": "ok", "flags_version": str(client.version)}


app = ASGIMiddleware(api, client, name="request")
