"""Flags marked "ready to remove": a completed run proposed retiring them.

A mark is an audit row (entity kind `flag_retirement`, the flag's key, action
`ready_to_remove`), written in the unit of work of the run's step that proposed
it: hash-chained like every change, kept by backups, and not a change of the
flag itself (so `audit verify`'s replay of flags and the fully-on history of
`stale_flags` are untouched). The newest mark of a flag is the one reported.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

from sqlalchemy import Engine, select

from flagramp.core.types import Json
from flagramp.store.connections import reading
from flagramp.store.tables import audit_log
from flagramp.store.writing import WritingUnit

__all__ = [
    "READY_TO_REMOVE",
    "RETIREMENT_KIND",
    "RetirementMark",
    "mark_ready_to_remove",
    "ready_to_remove",
]

RETIREMENT_KIND = "flag_retirement"
READY_TO_REMOVE = "ready_to_remove"


@dataclass(frozen=True, slots=True)
class RetirementMark:
    """A flag marked ready to remove: by which run, when, and by whom."""

    flag: str
    environment: str
    run: str
    at: dt.datetime
    by: str


def mark_ready_to_remove(
    unit: WritingUnit, environment: str, flag: str, *, run: str, checklist: Json
) -> None:
    """Mark `flag` ready to remove in the caller's unit of work."""
    unit.record(
        environment,
        RETIREMENT_KIND,
        flag,
        READY_TO_REMOVE,
        None,
        {"run": run, "checklist": checklist},
    )


def ready_to_remove(engine: Engine, environment: str) -> dict[str, RetirementMark]:
    """Every flag of `environment` marked ready to remove, its newest mark."""
    t = audit_log.c
    query = (
        select(t.entity_key, t.at, t.actor, t.after)
        .where(
            t.entity_kind == RETIREMENT_KIND,
            t.environment == environment,
            t.action == READY_TO_REMOVE,
        )
        .order_by(t.id)
    )
    marks: dict[str, RetirementMark] = {}
    with reading(engine, "flag retirements") as conn:
        for row in conn.execute(query):
            after = json.loads(row.after) if row.after else {}
            run = after.get("run") if isinstance(after, dict) else None
            marks[row.entity_key] = RetirementMark(
                row.entity_key, environment, str(run or ""), _time(row.at), row.actor
            )
    return marks


def _time(value: object) -> dt.datetime:
    at = (
        value
        if isinstance(value, dt.datetime)
        else dt.datetime.fromisoformat(str(value))
    )
    return at if at.tzinfo else at.replace(tzinfo=dt.UTC)
