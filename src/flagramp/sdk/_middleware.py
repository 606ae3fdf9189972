"""ASGI and WSGI middleware: each request's outcome, attributed to its flags.

Wrap the app; every request then yields one `request` event (status, latency,
an exception fingerprint when it raised) carrying the flags evaluated while it
ran and what they answered. Requests that evaluated no flag with an actor (and
for which the `actor` hook names nobody) are not sent: the server could not
attribute them to anyone.

    app = ASGIMiddleware(app, client, name="sm_request")
    app = WSGIMiddleware(app, client)

`route(scope)` / `route(environ)` names the route template, the part of the
fingerprint that must not carry ids (`/appointments/{id}`). The ASGI default
reads starlette's and FastAPI's matched route; the WSGI default is the path
itself (pass `route` for a framework's rule). `actor(...)` may name the actor
when the app knows it better than the first evaluation does.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator, MutableMapping
from typing import Any, Generic, TypeVar

from flagramp.sdk._attribution import RequestRecord, fingerprint
from flagramp.sdk._base import BaseClient

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
Environ = dict[str, Any]
StartResponse = Callable[..., Any]
WSGIApp = Callable[[Environ, StartResponse], Iterable[bytes]]


App = TypeVar("App")
Request = TypeVar("Request")


class _Attributing(Generic[App, Request]):
    """What both middlewares keep, and how they hand a request's outcome on."""

    def __init__(
        self,
        app: App,
        client: BaseClient,
        *,
        name: str = "request",
        route: Callable[[Request], str | None] | None = None,
        actor: Callable[[Request], str | None] | None = None,
    ) -> None:
        self.app = app
        self.client = client
        self.name = name
        self.route = route
        self.actor = actor
        client._attributing = True

    def _record(
        self,
        record: RequestRecord,
        request: Request,
        route: str,
        status: int,
        started: float,
        error: Exception | None,
    ) -> None:
        self.client._record_request(
            record,
            actor=_call(self.actor, request),
            route=route,
            status=status,
            latency_ms=(time.perf_counter() - started) * 1000.0,
            error=None if error is None else fingerprint(error, route),
            name=self.name,
        )


class ASGIMiddleware(_Attributing[ASGIApp, Scope]):
    """Attributes each HTTP request's outcome to the flags it evaluated.

    `ASGIMiddleware(app, client, *, name="request", route=None, actor=None)`.
    """

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        record = RequestRecord()
        var = self.client._request_var
        token = var.set(record)
        started = time.perf_counter()
        outer_root = scope.get("root_path", "")
        status: list[int] = []

        async def send_status(message: Message) -> None:
            if message["type"] == "http.response.start":
                status.append(int(message["status"]))
            await send(message)

        error: Exception | None = None
        try:
            await self.app(scope, receive, send_status)
        except Exception as exc:
            error = exc
            raise
        finally:
            var.reset(token)
            route = _call(self.route, scope) or asgi_route(scope, outer_root)
            status_code = status[0] if status else 500
            self._record(record, scope, route, status_code, started, error)


class WSGIMiddleware(_Attributing[WSGIApp, Environ]):
    """`ASGIMiddleware` for WSGI apps; the latency runs until the body is closed."""

    def __call__(
        self, environ: Environ, start_response: StartResponse
    ) -> Iterable[bytes]:
        record = RequestRecord()
        var = self.client._request_var
        token = var.set(record)
        started = time.perf_counter()
        status: list[int] = []

        def start(status_line: str, headers: Any, exc_info: Any = None) -> Any:
            status.append(int(status_line.split(" ", 1)[0]))
            return start_response(status_line, headers, exc_info)

        def finish(error: Exception | None) -> None:
            try:
                var.reset(token)
            except ValueError:  # closed from another context than it started in
                var.set(None)
            route = _call(self.route, environ) or wsgi_route(environ)
            status_code = status[-1] if status else 500
            self._record(record, environ, route, status_code, started, error)

        try:
            body = self.app(environ, start)
        except Exception as exc:
            finish(exc)
            raise
        return _Body(body, finish)


class _Body:
    """The app's body, passed through; its end (or failure) ends the request."""

    def __init__(
        self, body: Iterable[bytes], finish: Callable[[Exception | None], None]
    ) -> None:
        self._body = body
        self._finish: Callable[[Exception | None], None] | None = finish

    def __iter__(self) -> Iterator[bytes]:
        try:
            yield from self._body
        except Exception as exc:
            self._end(exc)
            raise

    def close(self) -> None:
        try:
            close = getattr(self._body, "close", None)
            if close is not None:
                close()
        finally:
            self._end(None)

    def _end(self, error: Exception | None) -> None:
        finish, self._finish = self._finish, None
        if finish is not None:
            finish(error)


def asgi_route(scope: Scope, outer_root: str = "") -> str:
    """The matched route's template (starlette, FastAPI), mounts included; the
    request path when no route matched."""
    path = getattr(scope.get("route"), "path", None)
    if isinstance(path, str):
        root = scope.get("root_path", "")
        mount = root[len(outer_root) :] if root.startswith(outer_root) else ""
        return mount + path
    return str(scope.get("path") or "/")


def wsgi_route(environ: Environ) -> str:
    """The request path (SCRIPT_NAME + PATH_INFO)."""
    return f"{environ.get('SCRIPT_NAME', '')}{environ.get('PATH_INFO', '')}" or "/"


def _call(hook: Callable[[Any], str | None] | None, argument: Any) -> str | None:
    if hook is None:
        return None
    with contextlib.suppress(Exception):
        value = hook(argument)
        return value if isinstance(value, str) else None
    return None
