"""The unit of work of the Flipper-tables store.

It is flagramp's SQL unit of work (flags' full documents, segments, audit rows,
other tables through `execute`: one transaction in flagramp's database) plus,
just before it commits, one outbox row for every feature of the bound
environment whose Flipper rows must change. One transaction cannot span two
databases: the outbox row commits with the change that needs it, and the store
writes Flipper's rows after the commit (`store/flipper/applier.py`). A flag
those tables cannot hold raises here, and nothing at all is written.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, select
from sqlalchemy.exc import SQLAlchemyError

from flagramp.core.clock import Clock
from flagramp.core.errors import FlipperTablesCannotHold, StoreError
from flagramp.store.audit_keys import AuditKeyring
from flagramp.store.documents import canonical, flag_document
from flagramp.store.flipper.database import FlipperDatabase
from flagramp.store.flipper.holding import rows_or_none, rows_to_hold
from flagramp.store.flipper.outbox import (
    Known,
    add_outbox_row,
    is_adopted,
    read_known,
    set_mirror,
    supersede,
)
from flagramp.store.flipper.rows import ABSENT, FeatureRows, flag_from_rows
from flagramp.store.flipper.writes import colliding
from flagramp.store.port import Author
from flagramp.store.reading import FLAG, SEGMENT
from flagramp.store.rules import check_flag
from flagramp.store.sql_store import SqlUnitOfWork


@dataclass(frozen=True)
class Binding:
    """Which flagramp environment is which Flipper database."""

    environment: str
    flipper: FlipperDatabase


class FlipperUnitOfWork(SqlUnitOfWork):
    """A unit of work whose changes to the bound environment reach Flipper's
    tables through the outbox."""

    def __init__(
        self,
        conn: Connection,
        author: Author,
        write_version: int,
        clock: Clock,
        keyring: AuditKeyring,
        binding: Binding,
    ) -> None:
        super().__init__(conn, author, write_version, clock, keyring)
        self.binding = binding
        #: Features given an outbox row by this unit, for the applier.
        self.outbox_keys: list[str] = []
        self._touched: dict[str, None] = {}
        self._segments_touched = False
        self._observed: set[str] = set()

    def _put_document(
        self, kind: str, environment: str, key: str, document: str | None
    ) -> None:
        super()._put_document(kind, environment, key, document)
        if environment == self.binding.environment:
            if kind == FLAG:
                self._touched[key] = None
            elif kind == SEGMENT:
                self._segments_touched = True

    def touch(self, key: str) -> None:
        """Have `before_commit` compare this feature's rows with its flag."""
        self._touched[key] = None

    # --- outside changes ------------------------------------------------------------

    def known(self, key: str) -> Known:
        """What flagramp knows about `key`'s rows, as this unit sees it."""
        environment = self.binding.environment
        known = read_known(self.conn, environment, [key]).get(key, Known())
        flag = self.get_flag(key, environment)
        known.has_flag = flag is not None
        if flag is not None:
            known.document = rows_or_none(
                flag,
                self.segments(environment),
                self.binding.flipper.schema,
                environment,
            )
        return known

    def observe(self, key: str, rows: FeatureRows, action: str) -> bool:
        """Make flagramp's flag what Flipper's `rows` say (they changed outside
        flagramp), audited as `action`; pending writes of it are superseded, so
        nothing overwrites the change. Returns whether the flag changed.

        Raises ImportInvalid or InvalidIdentifier, before writing anything, for
        rows flagramp cannot hold (a percentage over 100, a bad key).
        """
        environment = self.binding.environment
        before = self.get_flag(key, environment)
        after = None
        if rows.exists:
            after = check_flag(flag_from_rows(key, rows, before))
        changed = after != before
        if changed and after is None:
            assert before is not None
            self._put_document(FLAG, environment, key, None)
            old = canonical(flag_document(before))
            self._audit(environment, FLAG, key, action, old, None)
        elif changed and after is not None:
            self._save_flag(environment, before, after, action)
        stamp = self._stamp()
        set_mirror(self.conn, environment, key, rows, stamp)
        supersede(self.conn, environment, key, stamp)
        self._observed.add(key)
        return changed

    # --- the outbox -------------------------------------------------------------------

    def binds(self) -> set[str]:
        return {self.binding.environment}

    def before_commit(self) -> None:
        super().before_commit()  # other environments bound to Flipper's tables
        if not self._touched and not self._segments_touched:
            return
        environment = self.binding.environment
        if not is_adopted(self.conn, environment):
            raise StoreError(
                f"environment {environment!r} is bound to Flipper's tables at "
                f"{self.binding.flipper.url.shown}, which have not been read yet "
                "(open the store with FlipperTablesStore.open, or call sync())"
            )
        keys = list(self._touched)
        if self._segments_touched:
            # A segment's rules are written into the flags that name it.
            keys += [k for k, _ in self._documents(FLAG, environment)]
        keys = [k for k in dict.fromkeys(keys) if k not in self._observed]
        if not keys:
            return
        flags = {
            k: flag for k in keys if (flag := self.get_flag(k, environment)) is not None
        }
        segments = self.segments(environment)
        schema = self.binding.flipper.schema
        known = read_known(self.conn, environment, keys)
        changes: dict[str, FeatureRows] = {}
        for key in keys:
            flag = flags.get(key)
            target = (
                ABSENT
                if flag is None
                else rows_to_hold(flag, segments, schema, environment)
            )
            if target != known.get(key, Known()).intended:
                changes[key] = target
        if schema.is_case_insensitive and changes:
            self._check_collation(changes, known)
        stamp = self._stamp()
        for key, target in changes.items():
            add_outbox_row(
                self.conn, environment, key, target, self.write_version, stamp
            )
            self.outbox_keys.append(key)
        if changes:
            self.written = True

    def _check_collation(
        self, changes: dict[str, FeatureRows], known: dict[str, Known]
    ) -> None:
        """On a case-insensitive collation, refuse what the unique indexes would
        merge. Only the database knows its collation, so it is asked; if it
        cannot be reached the applier meets the refusal instead."""
        flipper = self.binding.flipper
        environment = self.binding.environment
        try:
            with flipper.engine.connect() as conn:
                for key, target in changes.items():
                    for gate in ("actors", "groups"):
                        values = [v for v in target.values(gate) if v is not None]
                        clash = colliding(conn, flipper.schema, values)
                        if clash:
                            raise _cannot_hold(key, environment, gate, clash, flipper)
                creating = [
                    k
                    for k, t in changes.items()
                    if t.exists and not known.get(k, Known()).intended.exists
                ]
                if creating:
                    theirs = conn.execute(select(flipper.tables.features.c.key))
                    ours = [k for k, _ in self._documents(FLAG, environment)]
                    clash = colliding(conn, flipper.schema, [*ours, *theirs.scalars()])
                    if clash:
                        new = clash[0] if clash[0] in creating else clash[1]
                        raise _cannot_hold(new, environment, "key", clash, flipper)
        except SQLAlchemyError:
            return  # unreachable now: the applier will meet the refusal and say so


def _cannot_hold(
    key: str,
    environment: str,
    what: str,
    clash: tuple[str, str],
    flipper: FlipperDatabase,
) -> StoreError:
    first, second = clash
    noun = {"actors": "actor ids", "groups": "group names", "key": "flag keys"}[what]
    return FlipperTablesCannotHold(
        key,
        environment,
        f"the {noun} {first!r} and {second!r} are one value to Flipper's tables, "
        f"which compare text with the collation {flipper.schema.collation} "
        "(case- or accent-insensitive)",
    )
