"""Body limits for `/api/v1`: a size cap (413) and the JSON depth routes read.

Applied below a path prefix only: `/flipper/api` keeps Flipper's own 50 MiB
import limit. A body announced (`Content-Length`) over the cap is answered 413
at once, unread; one that only turns out too large while it streams in
(chunked) stops the read with the same problem, raised where the route reads
it. Starlette's `RequestBodyLimitMiddleware` is not used: it replaces whatever
the app answered with a plain-text 413, so the answer would not be a problem.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from flagramp.server.bodies import LIMITS_KEY
from flagramp.server.problems import BODY_TOO_LARGE, ProblemError, problem_response


class BodyLimit:
    """Cap request bodies below `prefix` at `max_body_bytes`; tell routes the
    limits (decompressed size, JSON depth) through the scope."""

    def __init__(
        self, app: ASGIApp, *, prefix: str, max_body_bytes: int, max_json_depth: int
    ) -> None:
        self.app = app
        self.prefix = prefix
        self.max_body_bytes = max_body_bytes
        self.limits = (max_body_bytes, max_json_depth)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not str(scope.get("path", "")).startswith(
            self.prefix
        ):
            await self.app(scope, receive, send)
            return
        scope[LIMITS_KEY] = self.limits
        limit = self.max_body_bytes
        announced = _content_length(scope)
        if announced is not None and announced > limit:
            response = problem_response(BODY_TOO_LARGE, _detail(limit))
            await response(scope, receive, send)
            return
        received = 0

        async def receive_within_limit() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise ProblemError(BODY_TOO_LARGE, _detail(limit))
            return message

        await self.app(scope, receive_within_limit, send)


def _detail(limit: int) -> str:
    return f"the body is over {limit:,} bytes"


def _content_length(scope: Scope) -> int | None:
    # The raw list, not Starlette's `Headers`: building that was a tenth of a
    # small request's cost. Servers give header names in lower case.
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None
