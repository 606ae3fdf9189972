"""Count every HTTP answer by method, route template and status."""

from __future__ import annotations

import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from flagramp.server.metrics import ServerMetrics

#: The route label of a request that matched no route (keeps the label set small).
UNMATCHED = "(unmatched)"
#: The methods labelled as they are; any other is `OTHER_METHOD`, since the
#: method is the client's text (uvicorn's h11 parser takes any token), and a
#: label per made-up method would grow the scrape without bound.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
OTHER_METHOD = "(other)"


class RequestMetrics:
    """Record `flagramp_http_requests` and the time to the answer's start."""

    def __init__(self, app: ASGIApp, metrics: ServerMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_counting(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                self.metrics.request_seconds.labels(
                    _method(scope), _route(scope)
                ).observe(time.perf_counter() - started)
            await send(message)

        try:
            await self.app(scope, receive, send_counting)
        finally:
            self.metrics.requests.labels(
                _method(scope), _route(scope), str(status)
            ).inc()


def _method(scope: Scope) -> str:
    method = str(scope["method"])
    return method if method in METHODS else OTHER_METHOD


def _route(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    if isinstance(path, str):
        # An included router's route knows its path below the router's prefix.
        full = str(scope.get("path", ""))
        if full.startswith("/api/v1/") and not path.startswith("/api/v1"):
            return "/api/v1" + path
        return path
    if str(scope.get("path", "")).startswith("/flipper/"):
        return "/flipper/…"
    return UNMATCHED
