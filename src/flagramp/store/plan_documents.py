"""Uploaded release plans: each (name, revision) once, its text kept exactly.

An upload is one unit of work with its audit row (kind `plan`, the plan's name,
action `upload`, the revision and hash), so the change feed and the audit log
show it. Uploading the same text again changes nothing; a different text under
an existing revision is refused: a revision is never edited in place.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import func, insert, select

from flagramp.core.errors import StoreError
from flagramp.store.connections import reading
from flagramp.store.port import Author
from flagramp.store.sql_store import SqlFlagStore
from flagramp.store.token_tables import plan_documents


class RevisionExists(StoreError):
    """A plan revision is stored with another text."""

    code = "revision_exists"

    def __init__(self, name: str, revision: int) -> None:
        self.name = name
        self.revision = revision
        super().__init__(
            f"plan {name!r} revision {revision} is stored with another text; "
            "upload the change as a new revision"
        )


@dataclass(frozen=True, slots=True)
class StoredPlan:
    """One uploaded plan revision."""

    name: str
    revision: int
    sha256: str
    text: str
    environment: str
    uploaded_at: str
    uploaded_by: str


class PlanDocuments:
    """The uploaded plans of a store's database."""

    def __init__(self, store: SqlFlagStore) -> None:
        self.store = store

    def upload(
        self, name: str, revision: int, environment: str, text: str, author: Author
    ) -> tuple[StoredPlan, bool]:
        """Store a (checked) plan's text; returns it and whether it is new."""
        digest = hashlib.sha256(text.encode()).hexdigest()
        with self.store.unit_of_work(author) as unit:
            p = plan_documents.c
            row = (
                unit.connection.execute(
                    select(plan_documents).where(p.name == name, p.revision == revision)
                )
                .mappings()
                .first()
            )
            if row is not None:
                if row["sha256"] != digest:
                    raise RevisionExists(name, revision)
                return _plan(row), False
            stored = StoredPlan(
                name=name,
                revision=revision,
                sha256=digest,
                text=text,
                environment=environment,
                uploaded_at=self.store.clock.now()
                .astimezone(dt.UTC)
                .isoformat(timespec="seconds"),
                uploaded_by=author.who,
            )
            unit.execute(insert(plan_documents).values(**asdict(stored)))
            unit.record(
                environment,
                "plan",
                name,
                "upload",
                None,
                {"revision": revision, "sha256": digest},
            )
        return stored, True

    def latest(self) -> list[StoredPlan]:
        """The newest revision of every plan, by name."""
        p = plan_documents.c
        newest = (
            select(p.name, func.max(p.revision).label("revision"))
            .group_by(p.name)
            .subquery()
        )
        query = (
            select(plan_documents)
            .join(
                newest,
                (p.name == newest.c.name) & (p.revision == newest.c.revision),
            )
            .order_by(p.name)
        )
        with reading(self.store.engine, "plans") as conn:
            return [_plan(row) for row in conn.execute(query).mappings()]

    def get(self, name: str, revision: int | None = None) -> StoredPlan | None:
        """A plan's revision (the newest if None), or None."""
        p = plan_documents.c
        query = select(plan_documents).where(p.name == name)
        if revision is None:
            query = query.order_by(p.revision.desc()).limit(1)
        else:
            query = query.where(p.revision == revision)
        with reading(self.store.engine, "plans") as conn:
            row = conn.execute(query).mappings().first()
        return None if row is None else _plan(row)


def _plan(row: Any) -> StoredPlan:
    return StoredPlan(
        name=row["name"],
        revision=int(row["revision"]),
        sha256=row["sha256"],
        text=row["text"],
        environment=row["environment"],
        uploaded_at=row["uploaded_at"],
        uploaded_by=row["uploaded_by"],
    )
