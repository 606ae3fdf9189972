"""The Flipper HTTP API as an ASGI app, for the server to mount at `/flipper/api`.

Like `Flipper::Api` (Rack::Head, Rack::Deflater, JsonParams, then the actions):
HEAD is served as GET without the body, answers are gzipped when the client asks,
the JSON body is merged into the params, and the route is found on the raw path.
Before Flipper's own work come flagramp's: who calls (`authorize`), and whether
they may write. Handlers are plain functions over the (synchronous) store and run
in a worker thread, so the event loop never waits on the database.
"""

from __future__ import annotations

import logging
import random as random_module
from collections.abc import Callable
from typing import Any

import anyio.to_thread
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from flagramp.core.clock import Clock, SystemClock
from flagramp.core.errors import InvalidIdentifier, StoreError
from flagramp.server.flipper_api import imports, reads, writes
from flagramp.server.flipper_api.auth import Authorize, allow_everyone
from flagramp.server.flipper_api.context import (
    ApiRequest,
    FlipperContext,
    Reply,
    render,
)
from flagramp.server.flipper_api.errors import (
    BODY_TOO_LARGE,
    IMPORT_INVALID,
    INTERNAL_ERROR,
    INVALID_NAME,
    METHOD_NOT_ALLOWED,
    READ_ONLY,
    STORE_UNAVAILABLE,
    UNAUTHORIZED,
    FlipperApiError,
)
from flagramp.server.flipper_api.imports import MAX_IMPORT_BYTES
from flagramp.server.flipper_api.params import Params, RequestBody, read_params
from flagramp.server.flipper_api.routing import (
    Route,
    RouteMatch,
    match_route,
    route_path,
)
from flagramp.store import DEFAULT_ENVIRONMENT, Author, FlagStore

logger = logging.getLogger(__name__)

Handler = Callable[[FlipperContext, ApiRequest], Reply]

#: Route × method → handler. A route without the method answers 405 (Flipper
#: raises RequestMethodNotSupported, which its host app turns into a 500).
HANDLERS: dict[tuple[Route, str], Handler] = {
    (Route.FEATURES, "GET"): reads.list_features,
    (Route.FEATURES, "POST"): writes.add_feature,
    (Route.FEATURE, "GET"): reads.get_feature,
    (Route.FEATURE, "DELETE"): writes.remove_feature,
    (Route.ACTORS, "GET"): reads.get_actor,
    (Route.CLEAR_FEATURE, "DELETE"): writes.clear_feature,
    (Route.BOOLEAN_GATE, "POST"): writes.enable_boolean,
    (Route.BOOLEAN_GATE, "DELETE"): writes.disable_boolean,
    (Route.ACTORS_GATE, "POST"): writes.enable_actor,
    (Route.ACTORS_GATE, "DELETE"): writes.disable_actor,
    (Route.GROUPS_GATE, "POST"): writes.enable_group,
    (Route.GROUPS_GATE, "DELETE"): writes.disable_group,
    (Route.PERCENTAGE_OF_ACTORS_GATE, "POST"): writes.set_percentage_of_actors,
    (Route.PERCENTAGE_OF_ACTORS_GATE, "DELETE"): writes.disable_percentage_of_actors,
    (Route.PERCENTAGE_OF_TIME_GATE, "POST"): writes.set_percentage_of_time,
    (Route.PERCENTAGE_OF_TIME_GATE, "DELETE"): writes.disable_percentage_of_time,
    (Route.EXPRESSION_GATE, "POST"): writes.enable_expression,
    (Route.EXPRESSION_GATE, "DELETE"): writes.disable_expression,
    (Route.IMPORT, "POST"): imports.import_features,
}


def flipper_api(
    store: FlagStore,
    *,
    authorize: Authorize = allow_everyone,
    clock: Clock | None = None,
    environment: str = DEFAULT_ENVIRONMENT,
    random: Callable[[], float] | None = None,
    max_body_bytes: int = MAX_IMPORT_BYTES,
) -> ASGIApp:
    """Flipper's HTTP API over one environment of `store`, as an ASGI app.

    `authorize` maps the request headers to a `Caller` (or None: 401); `clock`
    and `random` are what evaluation reads for `GET /actors/:id` (expressions'
    `Now`, `percentage_of_time`). Every change goes through `store`, audited with
    the caller's author. A body over `max_body_bytes` (Flipper's 50 MiB import cap
    by default) is refused unread.
    """
    context = FlipperContext(
        store, environment, clock or SystemClock(), random or random_module.random
    )
    # Rack::Deflater compresses every answer the client accepts gzip for, at zlib's
    # default level; empty bodies (204, 304, HEAD) stay empty.
    return GZipMiddleware(
        FlipperApi(context, authorize, max_body_bytes),
        minimum_size=1,
        compresslevel=6,
    )


class FlipperApi:
    """The API itself, without compression; `flipper_api()` builds it."""

    def __init__(
        self,
        context: FlipperContext,
        authorize: Authorize,
        max_body_bytes: int = MAX_IMPORT_BYTES,
    ) -> None:
        self.context = context
        self.authorize = authorize
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            await send({"type": "websocket.close", "code": 1000})
            return
        request = Request(scope, receive)
        head = request.method == "HEAD"
        match = match_route(route_path(scope))
        body, too_large = b"", False
        if not head:
            body, too_large = await _read_body(request, self.max_body_bytes)
        try:
            reply = await anyio.to_thread.run_sync(
                self._answer, request, match, body, too_large
            )
        except Exception:  # the last line: log it, never show a traceback
            logger.exception("Flipper API %s %s failed", request.method, scope["path"])
            reply = _error(FlipperApiError(INTERNAL_ERROR))
        await _render(reply, head)(scope, receive, send)

    def _answer(
        self, request: Request, match: RouteMatch | None, body: bytes, too_large: bool
    ) -> Reply:
        try:
            return self._dispatch(request, match, body, too_large)
        except FlipperApiError as exc:
            return _error(exc)
        except StoreError as exc:
            return _error(FlipperApiError(STORE_UNAVAILABLE, str(exc)))
        except InvalidIdentifier as exc:
            # A key, actor id or group the store refuses (white space at an end,
            # a control character, an unpaired surrogate): Flipper would store
            # it; flagramp cannot, and says so instead of answering 500.
            return _error(FlipperApiError(INVALID_NAME, str(exc)))

    def _dispatch(
        self, request: Request, match: RouteMatch | None, body: bytes, too_large: bool
    ) -> Reply:
        caller = self.authorize(request.headers)
        if caller is None:
            raise FlipperApiError(UNAUTHORIZED)
        if match is None:
            return Reply(404, {})
        verb = "GET" if request.method == "HEAD" else request.method
        handler = HANDLERS.get((match.route, verb))
        if handler is None:
            allowed = sorted(m for (r, m) in HANDLERS if r is match.route)
            error = FlipperApiError(
                METHOD_NOT_ALLOWED, f"{verb}; try {', '.join(allowed)}"
            )
            return Reply(405, error.document(), {"allow": ", ".join(allowed)})
        if verb != "GET" and not caller.may_write:
            raise FlipperApiError(READ_ONLY)
        if too_large:
            raise FlipperApiError(
                IMPORT_INVALID if match.route is Route.IMPORT else BODY_TOO_LARGE
            )
        # The import reads only the document itself: a body that is not JSON is
        # its code 6, not the params' error (Flipper would raise in JsonParams).
        parsed = RequestBody(Params())
        if match.route is not Route.IMPORT:
            parsed = read_params(
                request.scope.get("query_string", b"").decode("latin-1"),
                request.headers.get("content-type"),
                verb,
                body,
                lenient=verb == "GET",
            )
        api_request = ApiRequest(
            method=verb,
            match=match,
            params=parsed.params,
            author=_author(caller.author, request, verb),
            json_body=parsed.json,
            body=body,
            headers=request.headers,
        )
        return handler(self.context, api_request)


def _author(author: Author, request: Request, verb: str) -> Author:
    """The caller's author, with what they did as the audit log's "why"."""
    if author.why:
        return author
    client = request.headers.get("user-agent", "")
    via = f" ({client})" if client else ""
    path = route_path(request.scope)
    return Author(author.who, f"Flipper API: {verb} {path}{via}")


def _error(exc: FlipperApiError) -> Reply:
    return Reply(exc.entry.http_status, exc.document())


async def _read_body(request: Request, limit: int) -> tuple[bytes, bool]:
    """The body, up to `limit` bytes; True when more was sent (then not read)."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return b"", True
        chunks.append(chunk)
    return b"".join(chunks), False


def _render(reply: Reply, head: bool) -> Response:
    headers = {"content-type": "application/json", **reply.headers}
    body = b""
    if reply.status not in (204, 304):
        if reply.rendered is not None:
            body = reply.rendered
        elif reply.document is not None:
            body = render(reply.document)
    if not head:
        return Response(body, status_code=reply.status, headers=headers)
    response = Response(b"", status_code=reply.status, headers=headers)
    if body:
        response.headers["content-length"] = str(len(body))
    return response


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message: dict[str, Any] = dict(await receive())
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
