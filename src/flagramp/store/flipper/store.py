"""The flag store on Flipper's own tables (adopt in place).

A Rails app keeps reading Flipper's `flipper_features` and `flipper_gates`
with its ActiveRecord adapter, unchanged; flagramp drives the same rows.

- flagramp's database (`FLAGRAMP_DATABASE_URL`) keeps what it always keeps:
  every flag's full document (deny lists, eligibility, descriptions included),
  segments, environments, the audit log and change feed, later runs; plus the
  outbox and the mirror (`store/flipper_outbox_tables.py`). One Flipper
  database is one environment (`production` unless the URL says otherwise);
  the other environments live in flagramp's tables only.
- A unit of work commits flagramp's side and an outbox row per feature whose
  rows must change; after the commit the applier writes Flipper's rows, and
  `sync()` (every second once `start()` is called) retries what failed.
- Reads serve flagramp's documents, whether the outbox row is applied or still
  pending. Rationale: the unit of work has committed, and its audit rows and
  the change feed already say the flag changed; answering from Flipper's older
  rows meanwhile would contradict the log (and a controller reading back would
  think its change lost). The Ruby app sees the change when the applier has
  written it; `pending()` says which writes are still waiting, and why.
- `sync()` also notices changes made from outside (`sync.py`) and records them;
  it never overwrites them.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from flagramp.core.clock import Clock
from flagramp.core.errors import FlagrampError, StoreError, StoreUnavailable
from flagramp.store.audit_keys import AuditKeyring
from flagramp.store.connections import reading, short_reason
from flagramp.store.database import database_url, open_engine
from flagramp.store.flipper.applier import ApplyReport, Outcome, apply_feature
from flagramp.store.flipper.database import FlagStoreUrl, FlipperDatabase
from flagramp.store.flipper.outbox import (
    PendingWrite,
    is_adopted,
    pending_keys,
    pending_writes,
    written_since,
)
from flagramp.store.flipper.sync import OutsideReport, Unreadable, Watch, record_outside
from flagramp.store.flipper.unit import Binding, FlipperUnitOfWork
from flagramp.store.port import DEFAULT_ENVIRONMENT, Author
from flagramp.store.sql_store import SqlFlagStore, SqlUnitOfWork

logger = logging.getLogger(__name__)

#: Seconds between two rounds of `sync()` once `start()` has been called.
SYNC_INTERVAL = 1.0


@dataclass
class SyncReport:
    """One round of `sync()`: writes applied or still failing, and changes found
    outside (flags changed, flags written to Flipper at adoption, features
    flagramp cannot hold)."""

    applied: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    recorded: list[str] = field(default_factory=list)
    pushed: list[str] = field(default_factory=list)
    unreadable: list[Unreadable] = field(default_factory=list)
    adopted: bool = False
    #: Why Flipper's tables could not be read this round (None: they were).
    unavailable: str | None = None


class FlipperTablesStore(SqlFlagStore):
    """Flags in flagramp's database, the bound environment mirrored row for row
    into Flipper's tables (see the module docstring)."""

    def __init__(
        self,
        engine: Engine,
        flipper: FlipperDatabase,
        clock: Clock | None = None,
        keyring: AuditKeyring | None = None,
    ) -> None:
        _check_two_databases(engine, flipper)
        super().__init__(engine, clock, keyring)
        self.flipper = flipper
        self.environment = flipper.url.environment
        self._binding = Binding(self.environment, flipper)
        self._watch = Watch()
        self._round = threading.Lock()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        #: The report of the latest `sync()` round (None before the first).
        self.last_sync: SyncReport | None = None

    @classmethod
    def open(  # type: ignore[override]
        cls,
        url: str | FlagStoreUrl,
        database: str | None = None,
        clock: Clock | None = None,
        keyring: AuditKeyring | None = None,
    ) -> FlipperTablesStore:
        """Open Flipper's tables at `url` (`flipper+…`) with flagramp's own
        tables at `database` (FLAGRAMP_DATABASE_URL by default, migrated), and
        read Flipper's tables once (the first time: adopt them)."""
        flipper = FlipperDatabase.open(url)
        engine: Engine | None = None
        try:
            engine = open_engine(database or database_url())
            return cls.connected(engine, flipper, clock, keyring)
        except BaseException:
            flipper.dispose()
            if engine is not None:
                engine.dispose()
            raise

    @classmethod
    def connected(
        cls,
        engine: Engine,
        flipper: FlipperDatabase,
        clock: Clock | None = None,
        keyring: AuditKeyring | None = None,
    ) -> FlipperTablesStore:
        """The store on an engine for flagramp's (migrated) database and an open
        Flipper database, after one `sync()` round; raises StoreUnavailable if
        Flipper's tables were never read and cannot be read now."""
        store = cls(engine, flipper, clock, keyring)
        report = store.sync()
        if report.unavailable is not None and not store.is_adopted():
            # Never read in: no write could be checked against its rows.
            raise StoreUnavailable(flipper.url.shown, report.unavailable)
        if report.unavailable is not None:
            logger.warning(
                "Flipper's tables at %s cannot be read now (%s); writes wait "
                "in the outbox",
                flipper.url.shown,
                report.unavailable,
            )
        return store

    def can_share_users(self, environment: str = DEFAULT_ENVIRONMENT) -> bool:
        # Ruby Flipper buckets each flag on its own name.
        return environment != self.environment

    # --- units of work ---------------------------------------------------------------

    def _new_unit(
        self, conn: Connection, author: Author, write_version: int
    ) -> SqlUnitOfWork:
        return FlipperUnitOfWork(
            conn, author, write_version, self.clock, self.keyring, self._binding
        )

    @contextmanager
    def unit_of_work(self, author: Author) -> Iterator[FlipperUnitOfWork]:
        with super().unit_of_work(author) as unit:
            assert isinstance(unit, FlipperUnitOfWork)
            yield unit

    def _after_commit(self, unit: SqlUnitOfWork) -> None:
        if isinstance(unit, FlipperUnitOfWork) and unit.outbox_keys:
            # The commit stands whatever happens here: a write that fails stays
            # pending and sync() retries it.
            try:
                self.apply_outbox(unit.outbox_keys)
            except (FlagrampError, SQLAlchemyError) as exc:
                logger.warning("the outbox stays pending: %s", short_reason(exc))

    # --- the outbox and outside changes -----------------------------------------------

    def apply_outbox(self, keys: Sequence[str] | None = None) -> ApplyReport:
        """Write Flipper's rows for pending outbox rows (of `keys`, or all);
        changes found outside instead are recorded, not overwritten."""
        report = ApplyReport()
        if keys is None:
            with reading(self.engine, "the outbox") as conn:
                keys = pending_keys(conn, self.environment)
        for key in dict.fromkeys(keys):
            outcome, error = apply_feature(
                self.engine, self.flipper, self.environment, key, self.clock.now()
            )
            if outcome is Outcome.APPLIED:
                report.applied.append(key)
            elif outcome is Outcome.FAILED:
                report.failed[key] = error
            elif outcome is Outcome.CHANGED_OUTSIDE:
                report.changed_outside.append(key)
        if report.changed_outside:
            report.recorded = self._record(report.changed_outside).recorded
        return report

    def sync(self) -> SyncReport:
        """One round: apply pending writes, then look for changes from outside
        (the first round of a process compares every feature; later ones only
        those whose fingerprint changed)."""
        with self._round:
            applied = self.apply_outbox()
            report = SyncReport(
                applied=applied.applied,
                failed=applied.failed,
                recorded=list(applied.recorded),
            )
            try:
                with reading(self.engine, "the outbox") as own:
                    written = written_since(
                        own, self.environment, self._watch.outbox_seen
                    )
                with self.flipper.engine.connect() as conn:
                    keys, commit = self._watch.changes(
                        conn, self.flipper.schema, written
                    )
                outside = self._record(keys)
            except (StoreUnavailable, SQLAlchemyError) as exc:
                report.unavailable = short_reason(exc)
                self.last_sync = report
                return report
            commit()
        report.recorded += [k for k in outside.recorded if k not in report.recorded]
        report.pushed = outside.pushed
        report.unreadable = outside.unreadable
        report.adopted = outside.adopted
        self.last_sync = report
        return report

    def _record(self, keys: list[str] | None) -> OutsideReport:
        try:
            report = record_outside(self, keys)
        except SQLAlchemyError as exc:
            raise StoreUnavailable(self.flipper.url.shown, short_reason(exc)) from exc
        for problem in report.unreadable:
            logger.warning(
                "Flipper's tables at %s: feature %r is not read in: %s",
                self.flipper.url.shown,
                problem.key,
                problem.reason,
            )
        return report

    def pending(self) -> list[PendingWrite]:
        """Writes to Flipper's tables not applied yet, oldest first."""
        with reading(self.engine, "the outbox") as conn:
            return pending_writes(conn, self.environment)

    def is_adopted(self) -> bool:
        """True once Flipper's tables have been read in for the environment."""
        with reading(self.engine, "the store") as conn:
            return is_adopted(conn, self.environment)

    # --- the background round --------------------------------------------------------

    def start(self, interval: float = SYNC_INTERVAL) -> None:
        """Run `sync()` every `interval` seconds in a daemon thread."""
        if self._thread is not None:
            return
        self._stopping.clear()
        self._thread = threading.Thread(
            target=self._loop, args=(interval,), name="flipper-sync", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop the background round (waits for the current one to end)."""
        thread, self._thread = self._thread, None
        if thread is not None:
            self._stopping.set()
            thread.join()

    def close(self) -> None:
        """Stop, and close both databases' connections."""
        self.stop()
        self.flipper.dispose()
        self.engine.dispose()

    def _loop(self, interval: float) -> None:
        while not self._stopping.wait(interval):
            try:
                self.sync()
            except Exception:
                # Rationale: the loop's boundary. A database that is down now
                # will be tried again next round; the log says what happened.
                logger.exception("flipper sync round failed")


def _check_two_databases(own: Engine, flipper: FlipperDatabase) -> None:
    # On PostgreSQL and MariaDB both may share one database (the tables differ);
    # one SQLite file would deadlock: the applier holds flagramp's write lock
    # while it waits for Flipper's, and SQLite has one lock per file.
    a, b = own.url, flipper.engine.url
    if a.get_backend_name() == b.get_backend_name() == "sqlite" and (
        a.database
        and b.database
        and os.path.realpath(a.database) == os.path.realpath(b.database)
    ):
        raise StoreError(
            f"flagramp's tables and Flipper's cannot share the SQLite file "
            f"{a.database}: give FLAGRAMP_DATABASE_URL a file of its own"
        )
