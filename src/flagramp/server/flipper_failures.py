"""Failed authentications on `/flipper/api`, limited as on `/api/v1`.

The Flipper API authorizes from headers alone and answers 401 in Flipper's
shape; this wrapper counts each 401 against the client's address in the
server's one `FailureLimiter` (so guesses on either API add up) and, once the
address is over the limit, answers 429 `too_many_failures` with `Retry-After`
before the token is even looked at.
"""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from flagramp.server.flipper_api.errors import TOO_MANY_FAILURES, FlipperApiError
from flagramp.server.state import ServerState


class FlipperFailureLimit:
    """Wrap a Flipper API app: refuse limited addresses, count its 401s."""

    def __init__(self, app: ASGIApp, state: ServerState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        client = scope["client"][0] if scope.get("client") else "unknown"
        limiter = self.state.auth_limiter
        wait = limiter.retry_after(client)
        if wait is not None:
            await _refuse(send, max(1, round(wait)))
            return

        async def counting(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] == 401:
                limiter.fail(client)
                self.state.metrics.auth_failures.labels("invalid").inc()
            await send(message)

        await self.app(scope, receive, counting)


async def _refuse(send: Send, retry_after: int) -> None:
    error = FlipperApiError(TOO_MANY_FAILURES, f"try again in {retry_after} s")
    body = json.dumps(error.document(), separators=(",", ":")).encode()
    await send(
        {
            "type": "http.response.start",
            "status": TOO_MANY_FAILURES.http_status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"retry-after", str(retry_after).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
