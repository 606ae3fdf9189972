"""Flags and their gates: the CLI's `flags` operations, over HTTP.

Every write is one unit of work (one store version, one audit row per change,
authored by the caller with the body's `why`); a write that changes nothing
writes nothing. Keys may hold `/` (`{key:path}`); the sub-routes come first.
"""

from __future__ import annotations

import json
import random
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


@router.post(
    "/flags/{key:path}/enable", response_model=FlagView, responses=WRITE_PROBLEMS
)
def enable(
    key: str,
    state: State,
    who: Annotated[Identity, WRITE],
    body: Reason | None = None,
    environment: Environment = None,
) -> FlagView:
    """Turn a flag fully on (Flipper: clears the other gates)."""
    why = body.why if body else ""
    return _change(state, who, key, environment, ops.enable, "enable", why)


@router.post(
    "/flags/{key:path}/disable", response_model=FlagView, responses=WRITE_PROBLEMS
)
def disable(
    key: str,
    state: State,
    who: Annotated[Identity, WRITE],
    body: Reason | None = None,
    environment: Environment = None,
) -> FlagView:
    """Turn a flag off for everyone (the kill switch: clears every gate)."""
    why = body.why if body else ""
    return _change(state, who, key, environment, ops.disable, "disable", why)


@router.put(
    "/flags/{key:path}/percentage", response_model=FlagView, responses=WRITE_PROBLEMS
)
def set_percentage(
    key: str,
    body: PercentageChange,
    state: State,
    who: Annotated[Identity, WRITE],
    environment: Environment = None,
) -> FlagView:
    """Enable for a percentage of actors (stable) or of time (random per check)."""
    pct = Percentage.parse(str(body.percentage))
    if body.of == "time":
        change: FlagChange = lambda f: ops.set_percentage_of_time(f, pct)  # noqa: E731
        action = "percentage_of_time"
    else:
        change = lambda f: ops.set_percentage_of_actors(f, pct)  # noqa: E731
        action = "percentage_of_actors"
    return _change(state, who, key, environment, change, action, body.why)


@router.post(
    "/flags/{key:path}/actors", response_model=FlagView, responses=WRITE_PROBLEMS
)
def add_actor(
    key: str,
    body: ActorChange,
    state: State,
    who: Annotated[Identity, WRITE],
    environment: Environment = None,
) -> FlagView:
    """Put an actor on the allow list."""
    change: FlagChange = lambda f: ops.add_actor(f, body.actor)  # noqa: E731
    return _change(state, who, key, environment, change, "actor_add", body.why)


@router.delete(
    "/flags/{key:path}/actors/{actor}",
    response_model=FlagView,
    responses=WRITE_PROBLEMS,
)
def remove_actor(
    key: str,
    actor: str,
    state: State,
    who: Annotated[Identity, WRITE],
    environment: Environment = None,
    why: Why = "",
) -> FlagView:
    """Take an actor off the allow list."""
    change: FlagChange = lambda f: ops.remove_actor(f, actor)  # noqa: E731
    return _change(state, who, key, environment, change, "actor_remove", why)


@router.post(
    "/flags/{key:path}/denied", response_model=FlagView, responses=WRITE_PROBLEMS
)
def deny_actor(
    key: str,
    body: ActorChange,
    state: State,
    who: Annotated[Identity, WRITE],
    environment: Environment = None,
) -> FlagView:
    """Keep an actor off whatever the gates say (a deny always wins)."""
    change: FlagChange = lambda f: ops.deny_actor(f, body.actor)  # noqa: E731
    return _change(state, who, key, environment, change, "deny", body.why)


@router.delete(
    "/flags/{key:path}/denied/{actor}",
    response_model=FlagView,
    responses=WRITE_PROBLEMS,
)
def undeny_actor(
    key: str,
    actor: str,
    state: State,
    who: Annotated[Identity, WRITE],
    environment: Environment = None,
    why: Why = "",
) -> FlagView:
    """Take an actor off the deny list."""
    change: FlagChange = lambda f: ops.undeny_actor(f, actor)  # noqa: E731
    return _change(state, who, key, environment, change, "deny", why)


@router.post(
    "/flags/{key:path}/groups", response_model=FlagView, responses=WRITE_PROBLEMS
)
def add_group(
    key: str,
    body: GroupChange,
    state: State,
    who: Annotated[Identity, WRITE],
    environment: Environment = None,
) -> FlagView:
    """Enable a Flipper group (groups are segments)."""
    change: FlagChange = lambda f: ops.add_group(f, body.group)  # noqa: E731
    return _change(state, who, key, environment, change, "group", body.why)


@router.delete(
    "/flags/{key:path}/groups/{group}",
    response_model=FlagView,
    responses=WRITE_PROBLEMS,
)
def remove_group(
    key: str,
    group: str,
    state: State,
    who: Annotated[Identity, WRITE],
    environment: Environment = None,
    why: Why = "",
) -> FlagView:
    """Disable a Flipper group."""
    change: FlagChange = lambda f: ops.remove_group(f, group)  # noqa: E731
    return _change(state, who, key, environment, change, "group", why)


@router.put(
    "/flags/{key:path}/expression", response_model=FlagView, responses=WRITE_PROBLEMS
)
def set_expression(
    key: str,
    body: ExpressionChange,
    state: State,
    who: Annotated[Identity, WRITE],
    environment: Environment = None,
) -> FlagView:
    """Set (or, with null, remove) a Flipper expression gate."""
    expression = body.expression
    if expression is None:
        change: FlagChange = ops.remove_expression
    else:
        ops.set_expression(Flag(key="check"), expression)  # refuse it before writing
        change = lambda f: ops.set_expression(f, expression)  # noqa: E731
    return _change(state, who, key, environment, change, "expression", body.why)


@router.put(
    "/flags/{key:path}/eligibility", response_model=FlagView, responses=WRITE_PROBLEMS
)
def set_eligibility(
    key: str,
    body: EligibilityChange,
    state: State,
    who: Annotated[Identity, WRITE],
    environment: Environment = None,
) -> FlagView:
    """Limit a flag to a segment: its percentage then applies inside it only."""
    change: FlagChange = lambda f: ops.set_eligibility(f, body.segment)  # noqa: E731
    return _change(state, who, key, environment, change, "eligibility", body.why)


@router.put(
    "/flags/{key:path}/bucket_key", response_model=FlagView, responses=WRITE_PROBLEMS
)
def set_bucket_key(
    key: str,
    body: BucketKeyChange,
    state: State,
    who: Annotated[Identity, WRITE],
    environment: Environment = None,
) -> FlagView:
    """Bucket a flag's actors on another flag's key, so both give their
    percentages to the same actors (refused on Flipper's tables)."""
    change: FlagChange = lambda f: ops.set_bucket_key(f, body.bucket_key)  # noqa: E731
    return _change(state, who, key, environment, change, "bucket_key", body.why)


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
