"""The outbox and the mirror, on a connection to flagramp's own database.

What flagramp knows about one feature's rows in Flipper's tables (`Known`): the
mirror (what they were when flagramp last wrote or read them), the targets of
pending outbox rows, and what flagramp's own document would write. Rows that
match none of these were changed from outside.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import Connection, delete, func, insert, select, update

from flagramp.store.flipper.rows import ABSENT, FeatureRows
from flagramp.store.flipper_outbox_tables import (
    APPLIED,
    PENDING,
    SUPERSEDED,
    flipper_adoptions,
    flipper_mirror,
    flipper_outbox,
)
from flagramp.store.tables import store_meta

CHUNK = 500


@dataclass
class Known:
    """What flagramp knows about one feature's rows.

    `mirror` is None when flagramp has never known them; `pending` are the
    targets of outbox rows not yet applied, oldest first; `document` is what
    flagramp's own flag would write (None if it has no such flag, or its
    rules cannot be held in these tables).
    """

    mirror: FeatureRows | None = None
    pending: list[FeatureRows] = field(default_factory=list)
    has_flag: bool = False
    document: FeatureRows | None = None

    def agrees(self, rows: FeatureRows) -> bool:
        """True if `rows` are what flagramp wrote, is writing or would write."""
        if self.mirror is not None and rows == self.mirror:
            return True
        if any(rows == target for target in self.pending):
            return True
        if self.document is not None and rows == self.document:
            return True
        return not self.has_flag and self.mirror is None and rows == ABSENT

    @property
    def never_written(self) -> bool:
        """A flag of flagramp's that Flipper's tables never had (nothing known,
        nothing pending): absent rows mean "not written yet", not "deleted"."""
        return self.has_flag and self.mirror is None and not self.pending

    @property
    def intended(self) -> FeatureRows:
        """The rows flagramp means the feature to have now."""
        if self.pending:
            return self.pending[-1]
        return self.mirror if self.mirror is not None else ABSENT


def lock_writers(conn: Connection) -> None:
    """Wait for (and then hold, until the transaction ends) the lock every unit
    of work takes first, without using up a version. SQLite's `BEGIN IMMEDIATE`
    (from `begin_write`) is the lock there."""
    if conn.dialect.name != "sqlite":
        conn.execute(
            select(store_meta.c.int_value)
            .where(store_meta.c.key == "version")
            .with_for_update()
        ).scalar()


def read_known(
    conn: Connection, environment: str, keys: Sequence[str] | None
) -> dict[str, Known]:
    """Mirror and pending targets for `keys` (None: every key that has one)."""
    known: dict[str, Known] = {}
    m, o = flipper_mirror.c, flipper_outbox.c
    for chunk in _chunks(keys):
        mirror = select(m.feature_key, m.rows).where(m.environment == environment)
        pending = (
            select(o.feature_key, o.target)
            .where(o.environment == environment, o.status == PENDING)
            .order_by(o.id)
        )
        if chunk is not None:
            mirror = mirror.where(m.feature_key.in_(chunk))
            pending = pending.where(o.feature_key.in_(chunk))
        for key, rows in conn.execute(mirror):
            known.setdefault(key, Known()).mirror = FeatureRows.from_json(rows)
        for key, target in conn.execute(pending):
            known.setdefault(key, Known()).pending.append(FeatureRows.from_json(target))
    return known


def pending_keys(conn: Connection, environment: str) -> list[str]:
    """Keys with pending outbox rows, the longest waiting first."""
    o = flipper_outbox.c
    query = (
        select(o.feature_key)
        .where(o.environment == environment, o.status == PENDING)
        .group_by(o.feature_key)
        .order_by(func.min(o.id))
    )
    return list(conn.execute(query).scalars())


def written_since(
    conn: Connection, environment: str, after_id: int
) -> tuple[int, list[str]]:
    """The newest outbox row id, and the keys of rows after `after_id`: what any
    flagramp process wrote (or meant to) since then. One index range read."""
    o = flipper_outbox.c
    rows = conn.execute(
        select(o.id, o.feature_key).where(o.environment == environment, o.id > after_id)
    ).all()
    if not rows:
        return after_id, []
    return max(int(r[0]) for r in rows), sorted({str(r[1]) for r in rows})


@dataclass(frozen=True)
class PendingWrite:
    """An outbox row not applied yet: which flag, from which store version, how
    many attempts so far and what the last one met."""

    key: str
    version: int
    attempts: int
    last_error: str | None
    since: str


def pending_writes(conn: Connection, environment: str) -> list[PendingWrite]:
    """Every pending outbox row, oldest first."""
    o = flipper_outbox.c
    query = (
        select(o.feature_key, o.store_version, o.attempts, o.last_error, o.created_at)
        .where(o.environment == environment, o.status == PENDING)
        .order_by(o.id)
    )
    return [PendingWrite(*row) for row in conn.execute(query)]


def pending_rows(conn: Connection, environment: str, key: str) -> list[tuple[int, str]]:
    """(id, target) of one feature's pending outbox rows, oldest first."""
    o = flipper_outbox.c
    query = (
        select(o.id, o.target)
        .where(o.environment == environment, o.feature_key == key, o.status == PENDING)
        .order_by(o.id)
    )
    return [(int(i), str(t)) for i, t in conn.execute(query)]


def add_outbox_row(
    conn: Connection,
    environment: str,
    key: str,
    target: FeatureRows,
    version: int,
    stamp: str,
) -> None:
    conn.execute(
        insert(flipper_outbox).values(
            environment=environment,
            feature_key=key,
            store_version=version,
            target=target.to_json(),
            status=PENDING,
            attempts=0,
            created_at=stamp,
        )
    )


def mark_applied(conn: Connection, ids: Iterable[int], stamp: str) -> None:
    _set(conn, ids, status=APPLIED, applied_at=stamp, last_error=None)


def mark_failed(conn: Connection, ids: Iterable[int], error: str) -> None:
    _set(conn, ids, attempts=flipper_outbox.c.attempts + 1, last_error=error)


def attempts_of(conn: Connection, row_id: int) -> int:
    """How many times writing an outbox row has been tried and failed."""
    query = select(flipper_outbox.c.attempts).where(flipper_outbox.c.id == row_id)
    return int(conn.execute(query).scalar() or 0)


def supersede(conn: Connection, environment: str, key: str, stamp: str) -> None:
    """Pending rows of a feature whose rows were changed outside: not applied."""
    o = flipper_outbox.c
    conn.execute(
        update(flipper_outbox)
        .where(o.environment == environment, o.feature_key == key, o.status == PENDING)
        .values(status=SUPERSEDED, applied_at=stamp)
    )


def set_mirror(
    conn: Connection, environment: str, key: str, rows: FeatureRows, stamp: str
) -> None:
    """Record what the feature's rows are; an absent feature drops its mirror."""
    m = flipper_mirror.c
    where = (m.environment == environment, m.feature_key == key)
    if not rows.exists:
        conn.execute(delete(flipper_mirror).where(*where))
        return
    values = {"rows": rows.to_json(), "updated_at": stamp}
    if conn.execute(update(flipper_mirror).where(*where).values(**values)).rowcount:
        return
    conn.execute(
        insert(flipper_mirror).values(
            environment=environment, feature_key=key, **values
        )
    )


def is_adopted(conn: Connection, environment: str) -> bool:
    a = flipper_adoptions.c
    query = select(a.environment).where(a.environment == environment)
    return conn.execute(query).first() is not None


def mark_adopted(
    conn: Connection, environment: str, url: str, version: int, stamp: str
) -> None:
    if not is_adopted(conn, environment):
        conn.execute(
            insert(flipper_adoptions).values(
                environment=environment,
                flipper_url=url[:255],
                store_version=version,
                adopted_at=stamp,
            )
        )


def _set(conn: Connection, ids: Iterable[int], **values: object) -> None:
    chosen = list(ids)
    for start in range(0, len(chosen), CHUNK):
        conn.execute(
            update(flipper_outbox)
            .where(flipper_outbox.c.id.in_(chosen[start : start + CHUNK]))
            .values(**values)
        )


def _chunks(keys: Sequence[str] | None) -> Iterable[list[str] | None]:
    if keys is None:
        yield None
        return
    unique = list(dict.fromkeys(keys))
    for start in range(0, len(unique), CHUNK):
        yield unique[start : start + CHUNK]
