"""The SQL flag store (SQLite, PostgreSQL, MariaDB/MySQL) and its unit of work.

A unit of work is one transaction that (1) bumps the store version first, which
takes the write lock (the version row's lock on PostgreSQL and MariaDB; SQLite's
`BEGIN IMMEDIATE`), so that writers are serialised before anything is read;
(2) changes rows; (3) appends audit rows chained to the last. A failure anywhere
rolls all of it back, and a unit that wrote nothing rolls back too, so its
version is never used.

Later layers add their own tables to the same transaction through
`SqlUnitOfWork.execute` (runs, their event logs, outboxes).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from sqlalchemy import (
    Connection,
    CursorResult,
    Engine,
    Executable,
    delete,
    insert,
    select,
    update,
)
from sqlalchemy.exc import SQLAlchemyError

from flagramp.core.clock import Clock, SystemClock
from flagramp.core.errors import FlagrampError, StoreError
from flagramp.core.flags import Flag, Segment
from flagramp.store.audit import AuditEntry, AuditReport
from flagramp.store.audit_keys import AuditKeyring
from flagramp.store.connections import reading, short_reason
from flagramp.store.database import database_url, open_engine, snapshot
from flagramp.store.epochs import StorePosition, read_position
from flagramp.store.flipper_outbox_tables import flipper_adoptions
from flagramp.store.port import CHANGES_LIMIT, DEFAULT_ENVIRONMENT, Author, Change
from flagramp.store.reading import FLAG
from flagramp.store.rules import check_author_fields
from flagramp.store.single_writes import SingleWrites
from flagramp.store.sql_reads import SqlReader, columns, meta_int
from flagramp.store.tables import audit_log, environments, flags, segments, store_meta
from flagramp.store.verification import StoredEntity, verify
from flagramp.store.writing import WritingUnit


class SqlUnitOfWork(WritingUnit, SqlReader):
    """A unit of work on one connection; `execute` joins other tables to it."""

    def __init__(
        self,
        conn: Connection,
        author: Author,
        write_version: int,
        clock: Clock,
        keyring: AuditKeyring,
    ) -> None:
        SqlReader.__init__(self, conn)
        WritingUnit.__init__(self, author, write_version, clock, keyring)
        #: Environments whose flags or segments this unit wrote.
        self.environments_written: set[str] = set()

    @property
    def connection(self) -> Connection:
        """The unit's connection, for reads of other tables in its transaction."""
        return self.conn

    def before_commit(self) -> None:
        """Called when the block ends without an exception, before the commit:
        a backend's last writes of the unit (Flipper's outbox) go here; raising
        rolls everything back.

        Refuses flag and segment writes to an environment that is Flipper's
        tables (adopted by the Flipper-tables store) unless this unit is that
        store's: written here alone, they would never reach the Rails app."""
        unbound = self.environments_written - self.binds()
        if not unbound:
            return
        bound = self.conn.execute(
            select(flipper_adoptions.c.environment, flipper_adoptions.c.flipper_url)
            .where(flipper_adoptions.c.environment.in_(sorted(unbound)))
            .order_by(flipper_adoptions.c.environment)
        ).first()
        if bound is not None:
            raise StoreError(
                f"environment {bound[0]!r} is Flipper's tables at {bound[1]}: its "
                "flags change only through the Flipper-tables store "
                "(FLAGRAMP_FLAG_STORE=flipper+…), so that the Rails app sees them "
                "(`flagramp flipper release` ends that)"
            )

    def binds(self) -> set[str]:
        """The environments this unit writes through to Flipper's tables."""
        return set()

    def execute(
        self, statement: Executable, parameters: Mapping[str, Any] | None = None
    ) -> CursorResult[Any]:
        """Run a statement in the unit's transaction; the unit then commits even if
        it changes no flag (its version is used)."""
        self.written = True
        return self.conn.execute(statement, parameters)

    def _put_document(
        self, kind: str, environment: str, key: str, document: str | None
    ) -> None:
        self.written = True
        self.environments_written.add(environment)
        column, name = columns(kind)
        table = column.table
        where = (table.c.environment == environment, name == key)
        if document is None:
            self.conn.execute(delete(table).where(*where))
            return
        stamp = self._stamp()
        values = {column.name: document, "version": self.write_version}
        found = self.conn.execute(
            update(table).where(*where).values(**values, updated_at=stamp)
        )
        if found.rowcount == 0:
            extra = {"created_at": stamp} if kind == FLAG else {}
            self.conn.execute(
                insert(table).values(
                    environment=environment,
                    **{name.name: key},
                    **values,
                    updated_at=stamp,
                    **extra,
                )
            )

    def _ensure_environment(self, environment: str, stamp: str) -> None:
        exists = self.conn.execute(
            select(environments.c.name).where(environments.c.name == environment)
        ).scalar()
        if exists is None:
            self.conn.execute(
                insert(environments).values(name=environment, created_at=stamp)
            )

    def _audit_head(self) -> str:
        head = self.conn.execute(
            select(store_meta.c.text_value).where(store_meta.c.key == "audit_head")
        ).scalar_one()
        if not isinstance(head, str):
            raise StoreError("store_meta 'audit_head' is damaged")
        return head

    def _insert_audit(self, row: dict[str, object]) -> None:
        self.conn.execute(insert(audit_log).values(**row))
        self.conn.execute(
            update(store_meta)
            .where(store_meta.c.key == "audit_head")
            .values(text_value=row["hash"], int_value=store_meta.c.int_value + 1)
        )


class SqlFlagStore(SingleWrites):
    """Flags, segments and environments in a SQL database."""

    def __init__(
        self,
        engine: Engine,
        clock: Clock | None = None,
        keyring: AuditKeyring | None = None,
    ) -> None:
        self.engine = engine
        self.clock: Clock = clock or SystemClock()
        self.keyring = keyring or AuditKeyring.configured(
            engine.url.render_as_string(hide_password=False)
        )

    @classmethod
    def open(
        cls,
        url: str | None = None,
        clock: Clock | None = None,
        keyring: AuditKeyring | None = None,
    ) -> SqlFlagStore:
        """Open (and migrate on first use) the store at `url`."""
        return cls(open_engine(url or database_url()), clock, keyring)

    @contextmanager
    def _reader(self) -> Iterator[SqlReader]:
        with reading(self.engine, "the store") as conn:
            yield SqlReader(conn)

    # --- reads -------------------------------------------------------------------

    def version(self) -> int:
        with self._reader() as reader:
            return reader.version()

    def position(self) -> StorePosition:
        """The store version and its epoch (`store/epochs.py`), read together."""
        with self._reader() as reader:
            return read_position(reader.conn)

    def environments(self) -> list[str]:
        with self._reader() as reader:
            return reader.environments()

    def get_flag(self, key: str, environment: str = DEFAULT_ENVIRONMENT) -> Flag | None:
        with self._reader() as reader:
            return reader.get_flag(key, environment)

    def require_flag(self, key: str, environment: str = DEFAULT_ENVIRONMENT) -> Flag:
        with self._reader() as reader:
            return reader.require_flag(key, environment)

    def list_flags(self, environment: str = DEFAULT_ENVIRONMENT) -> list[Flag]:
        with self._reader() as reader:
            return reader.list_flags(environment)

    def segments(self, environment: str = DEFAULT_ENVIRONMENT) -> dict[str, Segment]:
        with self._reader() as reader:
            return reader.segments(environment)

    def history(
        self, key: str, environment: str = DEFAULT_ENVIRONMENT
    ) -> list[AuditEntry]:
        with self._reader() as reader:
            return reader.history(key, environment)

    def audit_entries(self) -> list[AuditEntry]:
        with self._reader() as reader:
            return reader.audit_entries()

    def changes_since(
        self,
        version: int,
        *,
        environment: str | None = None,
        limit: int = CHANGES_LIMIT,
    ) -> list[Change]:
        with self._reader() as reader:
            return reader.changes_since(version, environment=environment, limit=limit)

    # --- writes ------------------------------------------------------------------

    @contextmanager
    def unit_of_work(self, author: Author) -> Iterator[SqlUnitOfWork]:
        check_author_fields(author)
        try:
            with self.engine.connect() as conn:
                transaction = conn.begin()
                try:
                    if conn.dialect.name == "sqlite":
                        conn.exec_driver_sql("BEGIN IMMEDIATE")
                    unit = self._new_unit(conn, author, _bump_version(conn))
                    yield unit
                    unit.before_commit()
                except BaseException:
                    transaction.rollback()
                    raise
                if unit.written:
                    transaction.commit()
                else:
                    transaction.rollback()
        except FlagrampError:
            raise
        except SQLAlchemyError as exc:
            raise StoreError(f"nothing was written: {short_reason(exc)}") from exc
        if unit.written:
            self._after_commit(unit)

    def _new_unit(
        self, conn: Connection, author: Author, write_version: int
    ) -> SqlUnitOfWork:
        """The unit of work a backend built on this one hands out."""
        return SqlUnitOfWork(conn, author, write_version, self.clock, self.keyring)

    def _after_commit(self, unit: SqlUnitOfWork) -> None:
        """Called once a unit that wrote has committed; it must not raise."""

    # --- audit ---------------------------------------------------------------------

    def verify_audit(self) -> AuditReport:
        keyring = self.keyring
        if keyring.path is not None:  # a rotation since this store opened counts
            keyring = AuditKeyring.from_file(keyring.path)
        try:
            with snapshot(self.engine) as conn:
                return verify_connection(conn, keyring)
        except SQLAlchemyError as exc:
            raise StoreError(
                f"the audit log could not be read: {short_reason(exc)}"
            ) from exc


def verify_connection(conn: Connection, keyring: AuditKeyring) -> AuditReport:
    """`verify_audit` over what `conn` sees (a snapshot, or a transaction that
    has not committed yet)."""
    head = conn.execute(
        select(store_meta.c.text_value, store_meta.c.int_value).where(
            store_meta.c.key == "audit_head"
        )
    ).one()
    rows = conn.execute(select(audit_log).order_by(audit_log.c.id)).mappings().all()
    return verify(rows, (head[0], head[1]), _stored(conn), keyring)


def _bump_version(conn: Connection) -> int:
    # The UPDATE comes first in every unit of work: it takes the row lock
    # (PostgreSQL, MariaDB) before anything is read.
    conn.execute(
        update(store_meta)
        .where(store_meta.c.key == "version")
        .values(int_value=store_meta.c.int_value + 1)
    )
    return meta_int(conn, "version")


def _stored(conn: Connection) -> list[StoredEntity]:
    found = [
        StoredEntity("flag", row.environment, row.key, row.state)
        for row in conn.execute(select(flags.c.environment, flags.c.key, flags.c.state))
    ]
    found += [
        StoredEntity("segment", row.environment, row.name, row.definition)
        for row in conn.execute(
            select(segments.c.environment, segments.c.name, segments.c.definition)
        )
    ]
    return found
