"""Every error the API answers, as `application/problem+json` (RFC 9457).

One table maps flagramp's domain errors to an HTTP status and a stable `code`
(Flipper's API does the same with its error table); the document is
`{"type", "title", "status", "detail", "code", "errors"?}`. Validation errors,
unknown routes and methods, and anything unexpected answer the same shape, and
no answer ever carries a traceback: an unexpected error is logged and answered
500 `internal_error`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse, Response

from flagramp.core.errors import (
    AuditKeyError,
    BackupDamaged,
    BackupError,
    BackupKeyMissing,
    BackupRevisionUnknown,
    BackupUnverified,
    EngineError,
    EnvironmentNotFound,
    EventError,
    FlagError,
    FlagNotFound,
    FlagrampError,
    ImportInvalid,
    InvalidExpression,
    InvalidIdentifier,
    InvalidPercentage,
    InvalidSegment,
    InvalidToken,
    PlanError,
    SegmentInUse,
    SegmentNotFound,
    SharedUsersUnsupported,
    SnapshotNotFound,
    StoreError,
    TargetNotEmpty,
    TokenNotFound,
)
from flagramp.core.plans import PlanInvalid
from flagramp.engine.commands import CommandRefused
from flagramp.engine.runner import RunConflict
from flagramp.store.plan_documents import RevisionExists
from flagramp.store.runs import RunNotFound

logger = logging.getLogger(__name__)

MEDIA_TYPE = "application/problem+json"
TYPE_BASE = "https://flagramp.dev/problems/"


@dataclass(frozen=True, slots=True)
class ProblemType:
    """One row of the table: a stable code, its HTTP status and title."""

    code: str
    status: int
    title: str


UNAUTHORIZED = ProblemType("unauthorized", 401, "A valid token is required")
FORBIDDEN = ProblemType("forbidden", 403, "This token may not do that")
WRONG_ENVIRONMENT = ProblemType(
    "wrong_environment", 403, "This token is for another environment"
)
NOT_FOUND = ProblemType("not_found", 404, "Not found")
METHOD_NOT_ALLOWED = ProblemType(
    "method_not_allowed", 405, "This route does not answer that method"
)
CONFLICT = ProblemType("conflict", 409, "The request conflicts with what is stored")
SEGMENT_IN_USE = ProblemType("segment_in_use", 409, "A flag is limited to the segment")
BODY_TOO_LARGE = ProblemType("body_too_large", 413, "The request body is too large")
UNSUPPORTED_MEDIA_TYPE = ProblemType(
    "unsupported_media_type", 415, "The body's type or encoding is not accepted"
)
INVALID_REQUEST = ProblemType("invalid_request", 422, "The request is not valid")
PLAN_INVALID = ProblemType("plan_invalid", 422, "The plan is not valid")
INVALID_PERCENTAGE = ProblemType("invalid_percentage", 422, "Invalid percentage")
INVALID_EXPRESSION = ProblemType("invalid_expression", 422, "Invalid expression")
INVALID_SEGMENT = ProblemType("invalid_segment", 422, "Invalid segment rule")
INVALID_IDENTIFIER = ProblemType("invalid_identifier", 422, "Invalid name")
INVALID_FLAG = ProblemType("flag_error", 422, "The flag change is not valid")
INVALID_TOKEN = ProblemType("invalid_token", 422, "The token cannot be issued")
IMPORT_INVALID = ProblemType("import_invalid", 422, "The import document is invalid")
INVALID_EVENT = ProblemType("invalid_event", 422, "The event batch is not valid")
ENGINE_REFUSED = ProblemType("engine_error", 409, "The run cannot do that now")
RUN_CONFLICT = ProblemType(
    "run_conflict", 409, "The run kept moving while the command was decided"
)
NOT_A_PERSON = ProblemType(
    "not_a_person", 403, "Run commands come from a person's token"
)
TOO_MANY_FAILURES = ProblemType(
    "too_many_failures", 429, "Too many failed authentications from this address"
)
INTERNAL_ERROR = ProblemType("internal_error", 500, "Something went wrong on our side")
STORE_UNAVAILABLE = ProblemType(
    "store_unavailable", 503, "The store cannot be reached; nothing was changed"
)
SERVER_MISCONFIGURED = ProblemType(
    "audit_key_error", 503, "The server cannot sign audit rows"
)
TARGET_NOT_EMPTY = ProblemType(
    "target_not_empty", 409, "The store is not empty: restore with force"
)
BACKUP_DAMAGED = ProblemType(
    "backup_damaged", 422, "The file is not a whole flagramp backup"
)
BACKUP_REVISION_UNKNOWN = ProblemType(
    "backup_revision_unknown", 409, "The backup is from a newer flagramp"
)
BACKUP_KEY_MISSING = ProblemType(
    "backup_key_missing", 409, "The server lacks the audit keys the backup needs"
)
BACKUP_UNVERIFIED = ProblemType(
    "backup_unverified", 422, "The restored audit log does not verify"
)
BACKUP_FAILED = ProblemType(
    "backup_error", 503, "The backup cannot be made or restored here"
)

#: Domain errors → problem types, the most specific first (the first match wins).
DOMAIN_ERRORS: tuple[tuple[type[FlagrampError], ProblemType], ...] = (
    (FlagNotFound, NOT_FOUND),
    (RunNotFound, NOT_FOUND),
    (SegmentNotFound, NOT_FOUND),
    (TokenNotFound, NOT_FOUND),
    (EnvironmentNotFound, NOT_FOUND),
    (SnapshotNotFound, NOT_FOUND),
    (SegmentInUse, SEGMENT_IN_USE),
    (RevisionExists, CONFLICT),
    (SharedUsersUnsupported, CONFLICT),
    (RunConflict, RUN_CONFLICT),
    (PlanInvalid, PLAN_INVALID),
    (InvalidPercentage, INVALID_PERCENTAGE),
    (InvalidExpression, INVALID_EXPRESSION),
    (InvalidSegment, INVALID_SEGMENT),
    (InvalidIdentifier, INVALID_IDENTIFIER),
    (InvalidToken, INVALID_TOKEN),
    (ImportInvalid, IMPORT_INVALID),
    (AuditKeyError, SERVER_MISCONFIGURED),
    (TargetNotEmpty, TARGET_NOT_EMPTY),
    (BackupDamaged, BACKUP_DAMAGED),
    (BackupRevisionUnknown, BACKUP_REVISION_UNKNOWN),
    (BackupKeyMissing, BACKUP_KEY_MISSING),
    (BackupUnverified, BACKUP_UNVERIFIED),
    (BackupError, BACKUP_FAILED),
    (StoreError, STORE_UNAVAILABLE),
    (FlagError, INVALID_FLAG),
    (PlanError, PLAN_INVALID),
    (EventError, INVALID_EVENT),
    (EngineError, ENGINE_REFUSED),
)

#: A run command the machine refuses answers its own stable code
#: (`CommandRefused.code`): 403 when the person lacks the plan role it needs,
#: 409 when the run cannot take it now. Every code the machine gives:
COMMAND_REFUSALS: tuple[ProblemType, ...] = (
    ProblemType("not_your_role", 403, "You do not hold the plan role this needs"),
    ProblemType(
        "needs_product_owner", 403, "The revision loosens the plan: the product owner"
    ),
    ProblemType("run_finished", 409, "The run is over"),
    ProblemType("not_waiting_for_that", 409, "The run is not waiting for that"),
    ProblemType("unknown_question", 409, "The plan asks no such question here"),
    ProblemType("unknown_prerequisite", 409, "The plan has no such prerequisite"),
    ProblemType("already_signed", 409, "The prerequisite is signed already"),
    ProblemType("needs_root_cause", 409, "Re-enabling needs a root cause"),
    ProblemType("revert_not_confirmed", 409, "The revert is not confirmed yet"),
    ProblemType("stage_too_high", 409, "The plan does not resume that far"),
    ProblemType("needs_revision", 409, "A pivot waits for a plan revision"),
    ProblemType("needs_re_enable", 409, "The run waits for a re-enable"),
    ProblemType("watch_not_over", 409, "The watch is not over yet"),
    ProblemType("checklist_incomplete", 409, "The checklist is not done"),
    ProblemType("answered_by_query", 409, "A query answers this question"),
    ProblemType("checkpoints_pending", 409, "Checkpoints are still due"),
    ProblemType("command_refused", 409, "The run does not take that command"),
)
_REFUSALS = {kind.code: kind for kind in COMMAND_REFUSALS}


def command_problem(exc: CommandRefused) -> ProblemType:
    """The problem a refused command answers: its own code, 403 for a role
    the person lacks, else 409."""
    known = _REFUSALS.get(exc.code)
    if known is not None:
        return known
    return ProblemType(exc.code, 409, "The run does not take that command")


#: Every problem type, for the documentation's table.
ALL_TYPES: tuple[ProblemType, ...] = (
    UNAUTHORIZED,
    FORBIDDEN,
    WRONG_ENVIRONMENT,
    NOT_FOUND,
    METHOD_NOT_ALLOWED,
    CONFLICT,
    SEGMENT_IN_USE,
    BODY_TOO_LARGE,
    UNSUPPORTED_MEDIA_TYPE,
    INVALID_REQUEST,
    PLAN_INVALID,
    INVALID_PERCENTAGE,
    INVALID_EXPRESSION,
    INVALID_SEGMENT,
    INVALID_IDENTIFIER,
    INVALID_FLAG,
    INVALID_TOKEN,
    IMPORT_INVALID,
    INVALID_EVENT,
    ENGINE_REFUSED,
    RUN_CONFLICT,
    NOT_A_PERSON,
    TOO_MANY_FAILURES,
    INTERNAL_ERROR,
    STORE_UNAVAILABLE,
    SERVER_MISCONFIGURED,
    TARGET_NOT_EMPTY,
    BACKUP_DAMAGED,
    BACKUP_REVISION_UNKNOWN,
    BACKUP_KEY_MISSING,
    BACKUP_UNVERIFIED,
    BACKUP_FAILED,
)


class Problem(BaseModel):
    """An error answer (RFC 9457 problem details, with flagramp's `code`)."""

    type: str
    title: str
    status: int
    detail: str
    code: str
    errors: list[dict[str, Any]] | None = None


class ProblemError(StarletteHTTPException):
    """Raised by routes and dependencies: answered as its problem document.

    An HTTPException, so that FastAPI lets it through while it reads a body.
    """

    def __init__(
        self,
        kind: ProblemType,
        detail: str = "",
        *,
        errors: Sequence[Mapping[str, Any]] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.kind = kind
        self.detail = detail or kind.title
        self.errors = None if errors is None else [dict(e) for e in errors]
        super().__init__(kind.status, self.detail, dict(headers or {}))


def problem_document(
    kind: ProblemType, detail: str, errors: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """The JSON document of a problem."""
    document: dict[str, Any] = {
        "type": TYPE_BASE + kind.code,
        "title": kind.title,
        "status": kind.status,
        "detail": detail,
        "code": kind.code,
    }
    if errors is not None:
        document["errors"] = errors
    return document


def problem_response(
    kind: ProblemType,
    detail: str = "",
    *,
    errors: list[dict[str, Any]] | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """A problem as a response."""
    return JSONResponse(
        problem_document(kind, detail or kind.title, errors),
        status_code=kind.status,
        media_type=MEDIA_TYPE,
        headers=dict(headers or {}),
    )


def problem_for(exc: FlagrampError) -> ProblemError:
    """The problem a domain error answers as (the table's first match)."""
    if isinstance(exc, CommandRefused):
        return ProblemError(command_problem(exc), exc.reason)
    for kind, problem in DOMAIN_ERRORS:
        if isinstance(exc, kind):
            errors = None
            if isinstance(exc, PlanInvalid):
                errors = [p.to_json() for p in exc.problems]
            return ProblemError(problem, str(exc), errors=errors)
    return ProblemError(INTERNAL_ERROR)


def install(app: FastAPI) -> None:
    """Answer every error of `app` as a problem document."""

    async def on_problem(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ProblemError)
        return problem_response(
            exc.kind, str(exc.detail), errors=exc.errors, headers=exc.headers
        )

    async def on_domain(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, FlagrampError)
        problem = problem_for(exc)
        if problem.kind.status >= 500:
            logger.warning("%s %s: %s", request.method, request.url.path, exc)
        return await on_problem(request, problem)

    async def on_validation(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        errors = [_validation_error(e) for e in exc.errors()]
        first = errors[0] if errors else {"loc": "", "msg": ""}
        detail = f"{first['loc']}: {first['msg']}" if first["loc"] else first["msg"]
        return problem_response(INVALID_REQUEST, detail, errors=errors)

    async def on_http(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        kind = {404: NOT_FOUND, 405: METHOD_NOT_ALLOWED, 413: BODY_TOO_LARGE}.get(
            exc.status_code,
            ProblemType("http_error", exc.status_code, "The request failed"),
        )
        return problem_response(
            kind, str(exc.detail or kind.title), headers=exc.headers
        )

    async def on_unexpected(request: Request, exc: Exception) -> Response:
        logger.exception("%s %s failed", request.method, request.url.path)
        return problem_response(INTERNAL_ERROR)

    app.add_exception_handler(ProblemError, on_problem)
    app.add_exception_handler(FlagrampError, on_domain)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(Exception, on_unexpected)


def _validation_error(error: Mapping[str, Any]) -> dict[str, Any]:
    # The offending input is left out: it may be large, and it is what was sent.
    loc = ".".join(str(part) for part in error.get("loc", ()))
    return {"loc": loc, "msg": str(error.get("msg", "")), "type": error.get("type", "")}


def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for a route's problem answers."""
    described = {kind.status: kind.title for kind in reversed(ALL_TYPES)}
    return {
        status: {
            "model": Problem,
            "description": described.get(status, "Problem"),
            "content": {MEDIA_TYPE: {}},
        }
        for status in sorted(set(statuses))
    }
