"""Flags and their gates: the CLI's `flags` operations, over HTTP.

Every write is one unit of work (one store version, one audit row per change,
authored by the caller with the body's `why`); a write that changes nothing
writes nothing. Keys may hold `/` (`{key:path}`); the sub-routes come first.
"""

from __future__ import annotations

import inspect
import json
import random
from collections.abc import Callable
from typing import Annotated, Any, Literal

from fastapi import Query, Response
from pydantic import BaseModel, Field

from flagramp.core.flags import Actor, Evaluator, Flag, Percentage
from flagramp.core.flags import operations as ops
from flagramp.core.identifiers import TEXT_MAX
from flagramp.core.types import PropertyValue
from flagramp.server.identity import EnvironmentIn, Identity, SdkScope, allow
from flagramp.server.models import FlagView
from flagramp.server.problems import responses
from flagramp.server.routes.common import AUTH_PROBLEMS, State, api_router
from flagramp.server.state import ServerState
from flagramp.store import FlagChange
from flagramp.store.documents import flag_document
from flagramp.store.tokens import Permission

router = api_router("flags")

Environment = Annotated[
    str | None, Query(max_length=64, description="Default: production")
]
Why = Annotated[str, Query(max_length=TEXT_MAX, description="The audit log's reason")]
READ = allow(
    Permission.VIEWER, sdk=SdkScope.FLAGS_READ, environment=EnvironmentIn.QUERY
)
WRITE = allow(Permission.ENGINEER, environment=EnvironmentIn.QUERY)
DELETE = allow(Permission.OPERATOR, environment=EnvironmentIn.QUERY)
WRITE_PROBLEMS = responses(*AUTH_PROBLEMS, 404, 409, 422)


class FlagList(BaseModel):
    flags: list[FlagView]


class Reason(BaseModel):
    """Why the change is made (the audit log's reason)."""

    why: str = Field("", max_length=TEXT_MAX)


class NewFlag(Reason):
    key: str
    description: str = Field("", max_length=TEXT_MAX)


class PercentageChange(Reason):
    percentage: str | int | float = Field(description="0–100, up to 3 decimals")
    of: Literal["actors", "time"] = "actors"


class ActorChange(Reason):
    actor: str


class GroupChange(Reason):
    group: str


class ExpressionChange(Reason):
    expression: dict[str, Any] | None = Field(
        description="A Flipper expression, or null to remove it"
    )


class EligibilityChange(Reason):
    segment: str | None = Field(description="A segment, or null for everyone")


class BucketKeyChange(Reason):
    bucket_key: str | None = Field(
        description="The key to bucket actors on (shared users: the first flag's "
        "key), or null for the flag's own key"
    )


class ActorCheck(BaseModel):
    flipper_id: str
    properties: dict[str, PropertyValue] = {}


class EvaluationRequest(BaseModel):
    actors: list[ActorCheck] = Field(default_factory=list, max_length=100)


class EvaluationAnswer(BaseModel):
    flag: str
    environment: str
    enabled: bool
    gate: str
    reason: str


class HistoryEntry(BaseModel):
    audit_row: int
    at: str
    who: str
    why: str
    action: str
    before: Any
    after: Any


class History(BaseModel):
    flag: str
    entries: list[HistoryEntry]


def view(flag: Flag) -> FlagView:
    """A flag as the API answers it."""
    return FlagView(**flag_document(flag), state=flag.state)


def _change(
    state: State,
    who: Identity,
    key: str,
    environment: str | None,
    change: FlagChange,
    action: str,
    why: str,
) -> FlagView:
    env = who.environment(environment)
    return view(state.store.change_flag(key, change, who.author(why), env, action))


@router.get("/flags", response_model=FlagList, responses=responses(*AUTH_PROBLEMS))
def list_flags(
    state: State, who: Annotated[Identity, READ], environment: Environment = None
) -> FlagList:
    """Every flag of an environment, by key."""
    env = who.environment(environment)
    return FlagList(flags=[view(f) for f in state.store.list_flags(env)])


@router.post(
    "/flags", status_code=201, response_model=FlagView, responses=WRITE_PROBLEMS
)
def create_flag(
    body: NewFlag,
    state: State,
    who: Annotated[Identity, WRITE],
    environment: Environment = None,
) -> FlagView:
    """Create a flag (off); an existing flag is returned as it is."""
    env = who.environment(environment)
    flag = Flag(key=body.key, description=body.description)
    return view(state.store.create_flag(flag, who.author(body.why), env))


# The gate routes all have one shape (a key in the path, what to change in the
# body or the path, one unit of work), so each is a row below and one function
# makes its endpoint. A row's change gets the body (or the path's item) and
# answers the flag change and the audit action.
Change = Callable[[Any], tuple[FlagChange, str]]
_KEYWORD = inspect.Parameter.KEYWORD_ONLY


def _gate_route(
    method: str,
    suffix: str,
    name: str,
    doc: str,
    change: Change,
    *,
    body: Any = None,
    body_default: Any = inspect.Parameter.empty,
    item: str | None = None,
) -> None:
    """Register `method /flags/{key}/suffix` as the endpoint `name`: its body
    (of type `body`) or its last path segment (named `item`) says what changes;
    a route with neither body nor `body_default` takes `why` from the query."""

    def endpoint(
        *,
        key: str,
        state: ServerState,
        who: Identity,
        environment: str | None = None,
        body: Reason | None = None,
        why: str = "",
        **path: str,
    ) -> FlagView:
        flag_change, action = change(body if item is None else path[item])
        reason = body.why if body is not None else why
        return _change(state, who, key, environment, flag_change, action, reason)

    def param(
        name: str, annotation: Any, default: Any = inspect.Parameter.empty
    ) -> inspect.Parameter:
        return inspect.Parameter(name, _KEYWORD, annotation=annotation, default=default)

    # FastAPI reads the parameters from the signature: set it to the route's own.
    params = [param("key", str)]
    if item is not None:
        params.append(param(item, str))
    if body is not None:
        params.append(param("body", body, body_default))
    params += [
        param("state", State),
        param("who", Annotated[Identity, WRITE]),
        param("environment", Environment, None),
    ]
    if body is None:
        params.append(param("why", Why, ""))
    endpoint.__signature__ = inspect.Signature(params, return_annotation=FlagView)  # type: ignore[attr-defined]
    endpoint.__name__ = endpoint.__qualname__ = name
    endpoint.__doc__ = doc
    path_format = f"/flags/{{key:path}}/{suffix}"
    router.api_route(
        path_format, methods=[method], response_model=FlagView, responses=WRITE_PROBLEMS
    )(endpoint)


def _percentage(body: PercentageChange) -> tuple[FlagChange, str]:
    pct = Percentage.parse(str(body.percentage))
    if body.of == "time":
        return (lambda f: ops.set_percentage_of_time(f, pct)), "percentage_of_time"
    return (lambda f: ops.set_percentage_of_actors(f, pct)), "percentage_of_actors"


def _expression(body: ExpressionChange) -> tuple[FlagChange, str]:
    expression = body.expression
    if expression is None:
        return ops.remove_expression, "expression"
    ops.set_expression(Flag(key="check"), expression)  # refuse it before writing
    return (lambda f: ops.set_expression(f, expression)), "expression"


def _with(
    operation: Callable[[Flag, Any], Flag], action: str, field: str | None = None
) -> Change:
    """A change that passes the route's value (or its body's `field`) to `operation`."""

    def change(given: Any) -> tuple[FlagChange, str]:
        value = given if field is None else getattr(given, field)
        return (lambda f: operation(f, value)), action

    return change


_gate_route(
    "POST",
    "enable",
    "enable",
    "Turn a flag fully on (Flipper: clears the other gates).",
    lambda _: (ops.enable, "enable"),
    body=Reason | None,
    body_default=None,
)
_gate_route(
    "POST",
    "disable",
    "disable",
    "Turn a flag off for everyone (the kill switch: clears every gate).",
    lambda _: (ops.disable, "disable"),
    body=Reason | None,
    body_default=None,
)
_gate_route(
    "PUT",
    "percentage",
    "set_percentage",
    "Enable for a percentage of actors (stable) or of time (random per check).",
    _percentage,
    body=PercentageChange,
)
_gate_route(
    "POST",
    "actors",
    "add_actor",
    "Put an actor on the allow list.",
    _with(ops.add_actor, "actor_add", "actor"),
    body=ActorChange,
)
_gate_route(
    "DELETE",
    "actors/{actor}",
    "remove_actor",
    "Take an actor off the allow list.",
    _with(ops.remove_actor, "actor_remove"),
    item="actor",
)
_gate_route(
    "POST",
    "denied",
    "deny_actor",
    "Keep an actor off whatever the gates say (a deny always wins).",
    _with(ops.deny_actor, "deny", "actor"),
    body=ActorChange,
)
_gate_route(
    "DELETE",
    "denied/{actor}",
    "undeny_actor",
    "Take an actor off the deny list.",
    _with(ops.undeny_actor, "deny"),
    item="actor",
)
_gate_route(
    "POST",
    "groups",
    "add_group",
    "Enable a Flipper group (groups are segments).",
    _with(ops.add_group, "group", "group"),
    body=GroupChange,
)
_gate_route(
    "DELETE",
    "groups/{group}",
    "remove_group",
    "Disable a Flipper group.",
    _with(ops.remove_group, "group"),
    item="group",
)
_gate_route(
    "PUT",
    "expression",
    "set_expression",
    "Set (or, with null, remove) a Flipper expression gate.",
    _expression,
    body=ExpressionChange,
)
_gate_route(
    "PUT",
    "eligibility",
    "set_eligibility",
    "Limit a flag to a segment: its percentage then applies inside it only.",
    _with(ops.set_eligibility, "eligibility", "segment"),
    body=EligibilityChange,
)
_gate_route(
    "PUT",
    "bucket_key",
    "set_bucket_key",
    "Bucket a flag's actors on another flag's key, so both give their\n"
    "percentages to the same actors (refused on Flipper's tables).",
    _with(ops.set_bucket_key, "bucket_key", "bucket_key"),
    body=BucketKeyChange,
)


@router.get(
    "/flags/{key:path}/history",
    response_model=History,
    responses=responses(*AUTH_PROBLEMS, 404),
)
def history(
    key: str,
    state: State,
    who: Annotated[Identity, allow(Permission.VIEWER, environment=EnvironmentIn.QUERY)],
    environment: Environment = None,
) -> History:
    """Every change to a flag: who, when, why, before and after."""
    env = who.environment(environment)
    state.store.require_flag(key, env)
    return History(
        flag=key,
        entries=[
            HistoryEntry(
                audit_row=e.id,
                at=e.at,
                who=e.actor,
                why=e.reason,
                action=e.action,
                before=_loaded(e.before),
                after=_loaded(e.after),
            )
            for e in state.store.history(key, env)
        ],
    )


@router.post(
    "/flags/{key:path}/evaluate",
    response_model=EvaluationAnswer,
    responses=responses(*AUTH_PROBLEMS, 404, 422),
)
def evaluate(
    key: str,
    body: EvaluationRequest,
    state: State,
    who: Annotated[
        Identity,
        allow(
            Permission.VIEWER, sdk=SdkScope.FLAGS_READ, environment=EnvironmentIn.QUERY
        ),
    ],
    environment: Environment = None,
) -> EvaluationAnswer:
    """Evaluate a flag for actors, and say which gate decided and why."""
    env = who.environment(environment)
    flag = state.store.require_flag(key, env)
    evaluator = Evaluator(state.store.segments(env), state.clock, random.random)
    actors = [Actor(a.flipper_id, a.properties) for a in body.actors]
    result = evaluator.explain(flag, actors)
    state.metrics.evaluations.labels(env).inc()
    return EvaluationAnswer(
        flag=key,
        environment=env,
        enabled=result.enabled,
        gate=result.gate,
        reason=result.reason,
    )


@router.get(
    "/flags/{key:path}",
    response_model=FlagView,
    responses=responses(*AUTH_PROBLEMS, 404),
)
def get_flag(
    key: str,
    state: State,
    who: Annotated[Identity, READ],
    environment: Environment = None,
) -> FlagView:
    """One flag."""
    return view(state.store.require_flag(key, who.environment(environment)))


@router.delete(
    "/flags/{key:path}", status_code=204, responses=responses(*AUTH_PROBLEMS, 404)
)
def delete_flag(
    key: str,
    state: State,
    who: Annotated[Identity, DELETE],
    environment: Environment = None,
    why: Why = "",
) -> Response:
    """Remove a flag."""
    state.store.delete_flag(key, who.author(why), who.environment(environment))
    return Response(status_code=204)


def _loaded(text: str | None) -> Any:
    return None if text is None else json.loads(text)
