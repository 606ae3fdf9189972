"""`POST /api/v1/events`: batched events from SDKs and apps.

The body is a JSON object `{"environment", "batch_key", "events": [...]}`, a
JSON array of events, or JSON lines (`application/x-ndjson`), gzip allowed.
Each event is checked alone (`core.event_parsing`): a bad one is rejected with
its index, code and reason, and the rest are kept. The batch key (the body's,
else `Idempotency-Key`, else a hash of the events) makes a redelivery count
once: it answers `duplicate: true` and counts nothing.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import json
from collections.abc import Awaitable, Callable, Coroutine
from typing import Annotated, Any

import anyio.to_thread
from fastapi import APIRouter, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel
from starlette.routing import Match, Route
from starlette.types import Receive, Scope, Send

from flagramp.core.event_parsing import MAX_CLOCK_SKEW, MAX_EVENT_AGE, parse_batch
from flagramp.core.events import EventBatch, Exposure, RejectedEvent
from flagramp.core.identifiers import check_environment
from flagramp.server.bodies import LIMITS_KEY, ApiRequest, ApiRoute, load_json
from flagramp.server.event_intake import SentBatch, TokenRevoked
from flagramp.server.identity import (
    EnvironmentIn,
    Identity,
    SdkScope,
    allow,
    first_guard,
)
from flagramp.server.ports import KeyedBatch
from flagramp.server.problems import (
    BODY_TOO_LARGE,
    INVALID_REQUEST,
    NOT_FOUND,
    UNAUTHORIZED,
    ProblemError,
    responses,
)
from flagramp.server.routes.common import AUTH_PROBLEMS, State
from flagramp.server.settings import DEFAULT_MAX_JSON_DEPTH
from flagramp.server.state import ServerState, server_state
from flagramp.store.tokens import Permission

#: Most events in one batch.
MAX_EVENTS = 100_000
JSON_LINES = ("application/x-ndjson", "application/jsonl", "application/json-lines")
#: How long a batch key is kept: after this, every event of a redelivery is
#: older than the oldest event accepted.
KEY_LIFETIME = MAX_EVENT_AGE + MAX_CLOCK_SKEW
#: Bodies up to this size are parsed on the event loop, bigger ones in a thread.
PARSE_INLINE_BYTES = 16 * 1024
#: The longest `?environment=` (an environment's name is shorter still).
ENVIRONMENT_QUERY_MAX = 64


class RejectedEventAnswer(BaseModel):
    index: int
    code: str
    reason: str


class EventsAnswer(BaseModel):
    """What became of a batch."""

    batch_key: str
    accepted: int
    duplicate: bool
    unwatched: int
    rejected: list[RejectedEventAnswer]


class EventBatchBody(BaseModel):
    """The batch as a JSON object (an array of events, or JSON lines, also do)."""

    environment: str | None = None
    batch_key: str | None = None
    events: list[dict[str, Any]]


@dataclasses.dataclass(frozen=True, slots=True)
class RawBatch:
    environment: str | None
    key: str | None
    events: list[Any]


def read_batch(body: bytes, content_type: str, max_depth: int) -> RawBatch:
    """The batch's parts from a JSON object, a JSON array or JSON lines."""
    media = content_type.split(";")[0].strip().lower()
    if media in JSON_LINES:
        lines = [line for line in body.splitlines() if line.strip()]
        return RawBatch(
            None,
            None,
            [load_json(line, max_depth, text_only=False) for line in lines],
        )
    # Each event's text is checked alone (core.event_parsing): one bad event
    # costs itself, not the batch.
    document = load_json(body, max_depth, text_only=False)
    if isinstance(document, list):
        return RawBatch(None, None, document)
    if not isinstance(document, dict) or not isinstance(document.get("events"), list):
        raise ProblemError(
            INVALID_REQUEST,
            'the body is {"events": [...]}, an array of events, or JSON lines',
        )
    environment, key = document.get("environment"), document.get("batch_key")
    if environment is not None and not isinstance(environment, str):
        raise ProblemError(INVALID_REQUEST, "`environment` must be a string")
    if key is not None and not isinstance(key, str):
        raise ProblemError(INVALID_REQUEST, "`batch_key` must be a string")
    return RawBatch(environment, key, document["events"])


class EventsRoute(ApiRoute):
    """The events route, its parameters passed without FastAPI's solving.

    It is the server's busiest route (every SDK sends a batch every few
    seconds): solving its dependencies took an eighth of a small batch's
    time, and finding it through the included routers another tenth. Its
    parameters are fixed: the request, the state, the caller (the route's
    `Guard` authenticates as on every route) and the `environment` query,
    checked here as its `Query` declares. The declaration stays FastAPI's,
    so the OpenAPI document, the access matrix and the fuzzing see the route
    as it is; a handler is refused for an endpoint whose parameters are not
    exactly those four. `direct_route` is the same handler as a plain route
    for the top of the app's router.
    """

    handler: Callable[[Request], Coroutine[Any, Any, Response]]

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        names = tuple(inspect.signature(self.endpoint).parameters)
        guard = first_guard(self.dependant)
        if names != _DIRECT_PARAMETERS or guard is None:
            raise TypeError(
                f"{self.path}: EventsRoute passes {_DIRECT_PARAMETERS} and needs "
                f"a Guard; the endpoint takes {names}"
            )
        endpoint = self.endpoint

        async def handler(request: Request) -> Response:
            api_request = (
                request
                if isinstance(request, ApiRequest)
                else ApiRequest(request.scope, request.receive)
            )
            who = await guard.authenticate(api_request)
            response: Response = await endpoint(
                request=api_request,
                state=server_state(request),
                who=who,
                environment=_environment_query(request),
            )
            return response

        self.handler = handler
        return handler

    def direct_route(self, prefix: str) -> Route:
        """This route below `prefix` as a Starlette route of the app's own
        router: matched by one pattern, called with no wrapper between the
        router and the handler (errors still reach the app's handlers)."""
        return _DirectRoute(
            prefix + self.path, _HandlerApp(self.handler), methods=self.methods
        )


class _DirectRoute(Route):
    """A route that names itself in the scope, as FastAPI's routes do (the
    request metrics label a request by its route's template)."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        match, child_scope = super().matches(scope)
        if match is not Match.NONE:
            child_scope["route"] = self
        return match, child_scope


class _HandlerApp:
    """An ASGI app of a request handler."""

    def __init__(self, handler: Callable[[Request], Awaitable[Response]]) -> None:
        self.handler = handler

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = await self.handler(ApiRequest(scope, receive))
        await response(scope, receive, send)


_DIRECT_PARAMETERS = ("request", "state", "who", "environment")


def _environment_query(request: Request) -> str | None:
    """`?environment=`, refused past its length as FastAPI refuses it."""
    value = request.query_params.get("environment")
    if value is not None and len(value) > ENVIRONMENT_QUERY_MAX:
        raise RequestValidationError(
            [
                {
                    "type": "string_too_long",
                    "loc": ("query", "environment"),
                    "msg": "String should have at most "
                    f"{ENVIRONMENT_QUERY_MAX} characters",
                    "input": value,
                    "ctx": {"max_length": ENVIRONMENT_QUERY_MAX},
                }
            ]
        )
    return value


router = APIRouter(route_class=EventsRoute, tags=["events"])


@router.post(
    "/events",
    response_model=EventsAnswer,
    responses=responses(*AUTH_PROBLEMS, 404, 413, 415, 422),
    summary="Send a batch of events",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": EventBatchBody.model_json_schema(),
                },
                "application/x-ndjson": {"schema": {"type": "string"}},
            },
        }
    },
)
async def post_events(
    request: Request,
    state: State,
    who: Annotated[
        Identity,
        allow(
            Permission.ENGINEER,
            sdk=SdkScope.EVENTS_WRITE,
            environment=EnvironmentIn.BODY,
            rechecked=True,  # the events writer checks the token per group
        ),
    ],
    environment: Annotated[str | None, Query(max_length=ENVIRONMENT_QUERY_MAX)] = None,
) -> Response:
    body = await request.body()
    _, max_depth = request.scope.get(LIMITS_KEY, (0, DEFAULT_MAX_JSON_DEPTH))
    parse = functools.partial(
        _parse,
        state,
        who,
        body,
        request.headers.get("content-type", ""),
        request.headers.get("idempotency-key") or None,
        environment,
        max_depth,
    )
    # A small batch parses faster than a hop to a thread would take; a big
    # one must not hold up the event loop.
    if len(body) <= PARSE_INLINE_BYTES:
        parsed = parse()
    else:
        parsed = await anyio.to_thread.run_sync(parse)
    keyed, rejected, sent = parsed
    try:
        taken = await state.event_writer.take(SentBatch(keyed, who.token.id))
    except TokenRevoked as exc:
        raise ProblemError(UNAUTHORIZED, str(exc)) from None
    if not taken.known_environment:
        raise ProblemError(NOT_FOUND, f"no environment {keyed.environment!r}")
    metrics = state.metrics.events
    batch = keyed.batch
    if taken.duplicate:
        metrics.labels("duplicate").inc(sent)
        return _answer(batch.key, 0, True, 0, [])
    metrics.labels("accepted").inc(len(batch.events))
    metrics.labels("rejected").inc(len(rejected))
    metrics.labels("unwatched").inc(taken.unwatched)
    return _answer(batch.key, len(batch.events), False, taken.unwatched, rejected)


def _parse(
    state: ServerState,
    who: Identity,
    body: bytes,
    content_type: str,
    header_key: str | None,
    asked: str | None,
    max_depth: int,
) -> tuple[KeyedBatch, list[RejectedEvent], int]:
    """The batch to take, the events refused, and how many events were sent."""
    raw = read_batch(body, content_type, max_depth)
    env = who.environment(raw.environment or asked)
    check_environment(env)
    events = raw.events
    if len(events) > MAX_EVENTS:
        raise ProblemError(
            BODY_TOO_LARGE, f"a batch holds at most {MAX_EVENTS:,} events"
        )
    now = state.clock.now()
    parsed = parse_batch(events, key=raw.key or header_key, received_at=now)
    batch, rejected = _in_environment(parsed.batch, list(parsed.rejected), events, env)
    keyed = KeyedBatch(env, batch, received_at=now, forget_after=now + KEY_LIFETIME)
    return keyed, rejected, len(events)


def _answer(
    key: str,
    accepted: int,
    duplicate: bool,
    unwatched: int,
    rejected: list[RejectedEvent],
) -> Response:
    """`EventsAnswer` as JSON, built by hand: validating the model costs more
    than the rest of a small batch's answer (the OpenAPI still names it)."""
    document = {
        "batch_key": key,
        "accepted": accepted,
        "duplicate": duplicate,
        "unwatched": unwatched,
        "rejected": [
            {"index": r.index, "code": r.code, "reason": r.reason} for r in rejected
        ],
    }
    return Response(
        json.dumps(document, ensure_ascii=False, separators=(",", ":")),
        media_type="application/json",
    )


def _in_environment(
    batch: EventBatch, rejected: list[RejectedEvent], raw: list[Any], env: str
) -> tuple[EventBatch, list[RejectedEvent]]:
    """Exposures that name no environment are the batch's; those that name
    another one are rejected (`wrong_environment`)."""
    if env == "production" and not any(
        isinstance(e, Exposure) and e.environment != env for e in batch.events
    ):
        return batch, rejected
    # Indexes of the accepted events in the raw list, to name the rejected ones.
    refused = {r.index for r in rejected}
    indexes = [i for i in range(len(raw)) if i not in refused]
    kept: list[Any] = []
    for index, event in zip(indexes, batch.events, strict=True):
        if isinstance(event, Exposure) and event.environment != env:
            named = isinstance(raw[index], dict) and raw[index].get("environment")
            if named:
                rejected.append(
                    RejectedEvent(
                        index,
                        f"the exposure is for environment {event.environment!r}, "
                        f"the batch for {env!r}",
                        "wrong_environment",
                    )
                )
                continue
            event = dataclasses.replace(event, environment=env)
        kept.append(event)
    rejected.sort(key=lambda r: r.index)
    return EventBatch(batch.key, tuple(kept)), rejected


def direct_route(prefix: str) -> Route:
    """`POST /events` below `prefix` for the top of the app's router."""
    (route,) = (r for r in router.routes if isinstance(r, EventsRoute))
    return route.direct_route(prefix)
