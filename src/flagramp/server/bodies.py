"""Request bodies: size limits, gzip, JSON with a depth limit.

Every `/api/v1` route is an `ApiRoute`, whose requests read their body through
`ApiRequest`: `Content-Encoding: gzip` is undone (to at most the body limit, so
a small bomb stays small), and JSON is parsed with a nesting limit, so that a
body of ten thousand `[` is a 422 problem, not a stack overflow.
"""

from __future__ import annotations

import json
import urllib.parse
import zlib
from collections.abc import Callable, Coroutine, Mapping
from typing import Any

from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import Response

from flagramp.server.identity import first_guard
from flagramp.server.problems import (
    BODY_TOO_LARGE,
    INVALID_REQUEST,
    UNSUPPORTED_MEDIA_TYPE,
    ProblemError,
)
from flagramp.server.settings import DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_JSON_DEPTH
from flagramp.server.surrogates import has_unpaired_surrogate, may_hold_surrogates

#: Where the app keeps its limits for requests to read (`scope["flagramp.limits"]`).
LIMITS_KEY = "flagramp.limits"


def decode_body(raw: bytes, encoding: str | None, limit: int) -> bytes:
    """The body as sent before `Content-Encoding` (identity or gzip), at most
    `limit` bytes; raises ProblemError otherwise."""
    coding = (encoding or "identity").strip().lower()
    if coding in ("", "identity"):
        return raw
    if coding not in ("gzip", "x-gzip"):
        raise ProblemError(
            UNSUPPORTED_MEDIA_TYPE,
            f"Content-Encoding {coding[:40]!r} is not accepted (use gzip or none)",
        )
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(raw, limit + 1)
    except zlib.error as exc:
        raise ProblemError(
            INVALID_REQUEST, f"the gzip body is damaged: {exc}"
        ) from None
    if len(out) > limit or inflater.unconsumed_tail:
        raise ProblemError(
            BODY_TOO_LARGE, f"the body is over {limit:,} bytes once decompressed"
        )
    if not inflater.eof:
        raise ProblemError(INVALID_REQUEST, "the gzip body is cut short")
    return out


def load_json(
    body: bytes, max_depth: int = DEFAULT_MAX_JSON_DEPTH, *, text_only: bool = True
) -> Any:
    """Parse a JSON body; raises ProblemError (422) for text that is not JSON,
    nests deeper than `max_depth` or (with `text_only`) holds an unpaired
    surrogate."""
    try:
        value = json.loads(body)
    except RecursionError:
        raise _too_deep(max_depth) from None
    except json.JSONDecodeError as exc:
        raise ProblemError(
            INVALID_REQUEST,
            f"the body is not JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})",
        ) from None
    except ValueError:  # bytes that are not UTF-8
        raise ProblemError(INVALID_REQUEST, "the body is not UTF-8 JSON") from None
    if not within_depth(value, max_depth):
        raise _too_deep(max_depth)
    if text_only and may_hold_surrogates(body) and has_unpaired_surrogate(value):
        raise ProblemError(
            INVALID_REQUEST,
            "the JSON body holds an unpaired surrogate (\\ud800-\\udfff)",
        )
    return value


def within_depth(value: object, max_depth: int) -> bool:
    """Whether no array or object in `value` is nested deeper than `max_depth`."""
    stack: list[tuple[object, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children: Any
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > max_depth:
            return False
        stack.extend((c, depth + 1) for c in children if isinstance(c, dict | list))
    return True


def _too_deep(limit: int) -> ProblemError:
    return ProblemError(
        INVALID_REQUEST, f"the JSON body is nested more than {limit} levels deep"
    )


class ApiRequest(Request):
    """A request whose body is decoded and whose JSON is depth-limited."""

    async def body(self) -> bytes:
        decoded: bytes | None = getattr(self, "_decoded", None)
        if decoded is None:
            max_bytes, _ = self.scope.get(LIMITS_KEY, _DEFAULT_LIMITS)
            raw = await super().body()
            decoded = decode_body(raw, self.headers.get("content-encoding"), max_bytes)
            self._decoded = decoded
        return decoded

    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            _, max_depth = self.scope.get(LIMITS_KEY, _DEFAULT_LIMITS)
            self._json = load_json(await self.body(), max_depth)
        return self._json


_DEFAULT_LIMITS = (DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_JSON_DEPTH)


def check_path_is_utf8(scope: Mapping[str, Any]) -> None:
    """Raise ProblemError (422) when the path's %-escapes are not UTF-8.

    The server decodes them with replacement characters, so `/segments/s%ED%A0`
    would otherwise name (and store) a segment called `s\ufffd`."""
    raw = scope.get("raw_path")
    if not raw or b"%" not in raw:
        return
    try:
        urllib.parse.unquote_to_bytes(bytes(raw)).decode("utf-8")
    except UnicodeDecodeError:
        raise ProblemError(
            INVALID_REQUEST, "the path's %-escapes are not UTF-8"
        ) from None


class ApiRoute(APIRoute):
    """FastAPI's route, reading its request through `ApiRequest`.

    A route's token check (its `identity.Guard`) runs before anything else,
    before FastAPI reads the body: a caller without the right token learns
    nothing about what the body should have been.
    """

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        guard = first_guard(self.dependant)

        async def route_handler(request: Request) -> Response:
            api_request = ApiRequest(request.scope, request.receive)
            if guard is not None:
                await guard.authenticate(api_request)
            check_path_is_utf8(request.scope)
            return await handler(api_request)

        return route_handler
