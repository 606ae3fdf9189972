"""Who calls: tokens to identities, and each route's access rule.

Every `/api/v1` route declares one `Access` through `allow(...)`, a FastAPI
dependency that authenticates the bearer token and returns the caller's
`Identity`, or answers 401 (no token, an unknown, revoked or expired one), 403 (a
permission below the route's, an SDK token on a route SDKs may not use, or an
SDK token for another environment), or 429 (too many failed authentications
from the client's address). The permission × endpoint matrix in
docs/server.md is generated from these declarations (`server.matrix`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import anyio.to_thread
from fastapi import Depends, Request

from flagramp.server.flipper_api import token_from_headers
from flagramp.server.problems import (
    FORBIDDEN,
    TOO_MANY_FAILURES,
    UNAUTHORIZED,
    WRONG_ENVIRONMENT,
    ProblemError,
)
from flagramp.server.state import server_state
from flagramp.store import DEFAULT_ENVIRONMENT, Author
from flagramp.store.tokens import OwnerKind, Permission, TokenRecord

#: Where a request's authenticated identity is kept (the scope of the request).
IDENTITY_KEY = "flagramp.identity"


class SdkScope(StrEnum):
    """What an SDK token may do, in its one environment."""

    FLAGS_READ = "flags:read"
    EVENTS_WRITE = "events:write"


class EnvironmentIn(StrEnum):
    """Where a route names its environment, for the SDK token check."""

    NONE = "none"
    PATH = "path"
    QUERY = "query"
    BODY = "body"


@dataclass(frozen=True, slots=True)
class Access:
    """Who may call a route: a permission (None: anyone, no token), and whether
    SDK tokens may, with which scope."""

    permission: Permission | None
    sdk: SdkScope | None = None
    environment: EnvironmentIn = EnvironmentIn.NONE

    @property
    def is_public(self) -> bool:
        return self.permission is None

    def allows(self, record: TokenRecord) -> bool:
        """Whether a token with this record may call (environment aside)."""
        if self.permission is None:
            return True
        if record.permission is Permission.SDK:
            return self.sdk is not None
        return record.permission.includes(self.permission)

    def allows_permission(self, permission: Permission) -> bool:
        """Whether a token of this (non-SDK) permission may call."""
        return self.permission is None or permission.includes(self.permission)

    def describe(self) -> str:
        """The rule in words, for the matrix."""
        if self.permission is None:
            return "anyone"
        sdk = f", or SDK ({self.sdk.value})" if self.sdk is not None else ""
        return f"{self.permission.value}+{sdk}"


@dataclass(frozen=True, slots=True)
class Identity:
    """An authenticated caller: a token's record."""

    token: TokenRecord

    @property
    def who(self) -> str:
        """The audit log's author: a person's e-mail, or `service:<name>`."""
        if self.token.owner_kind is OwnerKind.SERVICE:
            return f"service:{self.token.owner}"
        return self.token.owner

    @property
    def is_sdk(self) -> bool:
        return self.token.permission is Permission.SDK

    def author(self, why: str = "") -> Author:
        """The author of a change this caller makes."""
        return Author(self.who, why)

    def environment(self, asked: str | None) -> str:
        """The environment a call is for: what it asked, else the SDK token's,
        else the default. Raises 403 `wrong_environment` when an SDK token asks
        for another one."""
        bound = self.token.environment if self.is_sdk else None
        if bound is None:
            return asked or DEFAULT_ENVIRONMENT
        if asked is not None and asked != bound:
            raise ProblemError(
                WRONG_ENVIRONMENT,
                f"this token is for environment {bound!r}, not {asked!r}",
            )
        return bound


class Guard:
    """The dependency `allow()` builds: authenticate, then check `access`."""

    def __init__(self, access: Access, *, rechecked: bool = False) -> None:
        self.access = access
        self.rechecked = rechecked

    async def __call__(self, request: Request) -> Identity:
        known = request.scope.get(IDENTITY_KEY)
        if isinstance(known, Identity):
            return known
        return await self.authenticate(request)

    async def authenticate(self, request: Request) -> Identity:
        """Check the request's token against `access`; remember the identity in
        the scope for the route's dependency."""
        state = server_state(request)
        client = request.client.host if request.client else "unknown"
        wait = state.auth_limiter.retry_after(client)
        if wait is not None:
            raise ProblemError(
                TOO_MANY_FAILURES,
                f"too many failed authentications; try again in {wait:.0f} s",
                headers={"retry-after": str(max(1, round(wait)))},
            )
        token = token_from_headers(request.headers)
        record = None
        if token is not None and self.rechecked:
            record = state.token_cache.get(token)
        if token is not None and record is None:
            record = await anyio.to_thread.run_sync(state.tokens.presented, token)
            if record is not None and self.rechecked and not record.is_revoked:
                state.token_cache.put(token, record)
        now = state.tokens.now()
        if record is None or not record.is_usable(now):
            reason = refusal_reason(token, record, now)
            state.auth_limiter.fail(client)
            state.metrics.auth_failures.labels(reason).inc()
            raise ProblemError(
                UNAUTHORIZED,
                _REFUSALS[reason],
                headers={"www-authenticate": 'Bearer realm="flagramp"'},
            )
        identity = Identity(record)
        if not self.access.allows(record):
            state.metrics.auth_failures.labels("forbidden").inc()
            raise ProblemError(
                FORBIDDEN,
                f"this route needs {self.access.describe()}; "
                f"the token is {record.permission.value}",
            )
        if identity.is_sdk:
            identity.environment(_asked_environment(request, self.access.environment))
        request.scope[IDENTITY_KEY] = identity
        return identity


#: The 401's detail for each reason a token is refused (the metric's label).
_REFUSALS = {
    "missing": "send a token as `Authorization: Bearer <token>`",
    "invalid": "the token is unknown or revoked",
    "expired": "the token has expired",
}


def refusal_reason(
    token: str | None, record: TokenRecord | None, now: dt.datetime
) -> str:
    """Why a token is refused (`missing`, `invalid` or `expired`, the
    `flagramp_auth_failures_total` label). "expired" only for a token that was presented
    with its secret and is not revoked: nobody learns an id's expiry without it."""
    if token is None:
        return "missing"
    if record is not None and not record.is_revoked and record.is_expired(now):
        return "expired"
    return "invalid"


def _asked_environment(request: Request, where: EnvironmentIn) -> str | None:
    if where is EnvironmentIn.PATH:
        return request.path_params.get("env")
    if where is EnvironmentIn.QUERY:
        return request.query_params.get("environment")
    return None  # in the body: the route checks it with Identity.environment


def allow(
    permission: Permission,
    *,
    sdk: SdkScope | None = None,
    environment: EnvironmentIn = EnvironmentIn.NONE,
    rechecked: bool = False,
) -> Any:
    """The dependency of a route that `permission` and above (and, with `sdk`,
    SDK tokens of the right environment) may call: `who: Annotated[Identity,
    allow(Permission.VIEWER)]`.

    `rechecked`: the route checks the token again when it writes (the events
    writer does, per group), so a token verified in the last seconds is taken
    from `ServerState.token_cache` without reading it."""
    return Depends(Guard(Access(permission, sdk, environment), rechecked=rechecked))


def route_access(dependencies: Any) -> list[Access]:
    """The `Access` rules among a route's dependencies (a FastAPI `Dependant`)."""
    found: list[Access] = []
    stack = [dependencies]
    while stack:
        dependant = stack.pop()
        call = getattr(dependant, "call", None)
        if isinstance(call, Guard):
            found.append(call.access)
        stack.extend(getattr(dependant, "dependencies", ()))
    return found


def first_guard(dependant: Any) -> Guard | None:
    """The `Guard` among a route's dependencies, if any."""
    stack = [dependant]
    while stack:
        item = stack.pop()
        if isinstance(getattr(item, "call", None), Guard):
            guard: Guard = item.call
            return guard
        stack.extend(getattr(item, "dependencies", ()))
    return None
