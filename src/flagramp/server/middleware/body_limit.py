"""Body limits for `/api/v1`: a size cap (413) and the JSON depth routes read.

The size cap is Starlette's `RequestBodyLimitMiddleware`, applied below a path
prefix only: `/flipper/api` keeps Flipper's own 50 MiB import limit.
"""

from __future__ import annotations

from starlette.middleware.body_limit import RequestBodyLimitMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from flagramp.server.bodies import LIMITS_KEY


class BodyLimit:
    """Cap request bodies below `prefix` at `max_body_bytes`; tell routes the
    limits (decompressed size, JSON depth) through the scope."""

    def __init__(
        self, app: ASGIApp, *, prefix: str, max_body_bytes: int, max_json_depth: int
    ) -> None:
        self.app = app
        self.prefix = prefix
        self.limits = (max_body_bytes, max_json_depth)
        self.limited = RequestBodyLimitMiddleware(app, max_body_size=max_body_bytes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and str(scope.get("path", "")).startswith(
            self.prefix
        ):
            scope[LIMITS_KEY] = self.limits
            await self.limited(scope, receive, send)
            return
        await self.app(scope, receive, send)
