"""The audit log, paged by store version, and its verification."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query
from pydantic import BaseModel

from flagramp.server.identity import EnvironmentIn, Identity, allow
from flagramp.server.problems import responses
from flagramp.server.routes.common import (
    AUTH_PROBLEMS,
    STORE_INT_MAX,
    State,
    api_router,
)
from flagramp.store.tokens import Permission

router = api_router("audit")

#: Most changes in one page (a version with more comes alone and whole).
PAGE_MAX = 1_000


class AuditChange(BaseModel):
    version: int
    audit_row: int
    environment: str
    kind: str
    key: str
    action: str
    who: str
    why: str
    at: str
    before: Any
    after: Any


class AuditPage(BaseModel):
    """Changes after `after_version`, oldest first; ask again with `next` until
    it is null."""

    changes: list[AuditChange]
    next: int | None


class AuditProblemView(BaseModel):
    row: int | None
    subject: str | None
    detail: str


class AuditVerification(BaseModel):
    ok: bool
    rows: int
    head: str
    key_ids: list[str]
    problems: list[AuditProblemView]
    limits: list[str]


@router.get(
    "/audit", response_model=AuditPage, responses=responses(*AUTH_PROBLEMS, 422)
)
def audit_log(
    state: State,
    who: Annotated[Identity, allow(Permission.VIEWER, environment=EnvironmentIn.QUERY)],
    after_version: Annotated[int, Query(ge=0, le=STORE_INT_MAX)] = 0,
    limit: Annotated[int, Query(ge=1, le=PAGE_MAX)] = 100,
    environment: Annotated[str | None, Query(max_length=64)] = None,
) -> AuditPage:
    """Every change after a store version (whole versions only), oldest first."""
    changes = state.store.changes_since(
        after_version, environment=environment, limit=limit
    )
    return AuditPage(
        changes=[
            AuditChange(
                version=c.version,
                audit_row=c.position,
                environment=c.environment,
                kind=c.kind,
                key=c.key,
                action=c.action,
                who=c.who,
                why=c.why,
                at=c.at.isoformat(),
                before=c.before,
                after=c.after,
            )
            for c in changes
        ],
        next=changes[-1].version if changes else None,
    )


@router.post(
    "/audit/verify",
    response_model=AuditVerification,
    responses=responses(*AUTH_PROBLEMS),
)
def verify_audit(
    state: State, who: Annotated[Identity, allow(Permission.OPERATOR)]
) -> AuditVerification:
    """Check the keyed hash chain and replay it against every flag and segment."""
    report = state.store.verify_audit()
    return AuditVerification(
        ok=report.ok,
        rows=report.rows,
        head=report.head,
        key_ids=list(report.key_ids),
        problems=[
            AuditProblemView(row=p.row_id, subject=p.subject, detail=p.detail)
            for p in report.problems
        ],
        limits=list(report.limits),
    )
