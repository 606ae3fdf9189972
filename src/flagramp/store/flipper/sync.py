"""Changes made from outside flagramp: a Rails console, the Flipper UI, SQL.

`Watch` keeps the tables' fingerprint between rounds and says which features
changed; `record_outside` reads those features' rows and compares them with
what flagramp knows (`outbox.Known`). Rows flagramp did not write are recorded
as a change of the flag, audited as `changed_outside` with before and after
(so it is in `changes_since`, the streams, and a running plan sees it), and
pending writes of that feature are superseded: nothing overwrites the change.

It compares twice: once without the lock, to find candidates cheaply (most
rounds see only flagramp's own writes), then again inside one unit of work,
under the lock every writer takes, with fresh reads of both sides.

The first round on an environment (no adoption recorded) is the adoption:
every feature in Flipper's tables becomes a flag, audited as `adopt`; where
flagramp already had the flag, Flipper's rows win; flags only flagramp has are
written to Flipper's tables.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from flagramp.core.errors import FlagError, ImportInvalid
from flagramp.store.connections import reading
from flagramp.store.database import begin_write
from flagramp.store.flipper.fingerprint import (
    FeatureMark,
    Fingerprint,
    changed_keys,
    feature_marks,
    fingerprint,
)
from flagramp.store.flipper.holding import CANNOT_HOLD, rows_or_none, rows_to_hold
from flagramp.store.flipper.outbox import (
    Known,
    is_adopted,
    lock_writers,
    mark_adopted,
    read_known,
    set_mirror,
)
from flagramp.store.flipper.rows import ABSENT, FeatureRows
from flagramp.store.flipper.schema import FlipperSchema
from flagramp.store.flipper.writes import StoredFeature, read_features
from flagramp.store.port import Author
from flagramp.store.sql_reads import SqlReader

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from flagramp.store.flipper.store import FlipperTablesStore
    from flagramp.store.flipper.unit import FlipperUnitOfWork

#: The audit action of a change found in Flipper's tables.
OUTSIDE_ACTION = "changed_outside"
#: The audit action of a feature read in when an environment is adopted.
ADOPT_ACTION = "adopt"
#: Who such changes are recorded as.
OUTSIDE_AUTHOR = "flipper-tables"
#: Up to this many keys are read one by one; more, and all flags are read.
FEW = 50


@dataclass(frozen=True)
class Unreadable:
    """A feature in Flipper's tables that flagramp cannot hold as a flag."""

    key: str
    reason: str


@dataclass
class OutsideReport:
    """What `record_outside` found."""

    recorded: list[str] = field(default_factory=list)
    pushed: list[str] = field(default_factory=list)
    unreadable: list[Unreadable] = field(default_factory=list)
    adopted: bool = False


class Watch:
    """What the last round saw, kept between rounds of one process: the tables'
    fingerprint, and the newest outbox row."""

    def __init__(self) -> None:
        self._overall: Fingerprint | None = None
        self._marks: dict[str, FeatureMark] | None = None
        self._outbox = 0

    @property
    def outbox_seen(self) -> int:
        """The newest outbox row id the last committed round had seen."""
        return self._outbox

    def changes(
        self,
        conn: Connection,
        schema: FlipperSchema,
        written: tuple[int, list[str]],
    ) -> tuple[list[str] | None, Callable[[], None]]:
        """The keys to compare since the last committed round (None: every key,
        on the first round), and a function to call once they are handled.

        Besides the features whose marks changed, that is every feature
        flagramp wrote meanwhile (`written`: the newest outbox id and the keys
        since `outbox_seen`): a feature written and then deleted outside between
        two rounds has the same marks at both.
        """
        outbox, keys_written = written
        overall = fingerprint(conn, schema)
        if overall == self._overall and self._marks is not None:
            marks = self._marks
            keys: list[str] | None = keys_written
        else:
            marks = feature_marks(conn, schema)
            if self._marks is None:
                keys = None
            else:
                keys = sorted({*changed_keys(self._marks, marks), *keys_written})

        def commit() -> None:
            self._overall, self._marks, self._outbox = overall, marks, outbox

        return keys, commit


def record_outside(store: FlipperTablesStore, keys: list[str] | None) -> OutsideReport:
    """Compare `keys` (None: all) with what flagramp knows; record what changed."""
    report = OutsideReport()
    environment = store.environment
    tables = store.flipper.tables
    if keys == []:
        return report
    with store.flipper.engine.connect() as fconn:
        stored = read_features(fconn, tables, keys)
    with reading(store.engine, "the store") as conn:
        adopted = is_adopted(conn, environment)
        known = _known(store, conn, keys)
    candidates, settled = [], []
    for key, k in known.items():
        rows = _rows(stored, key)
        if (k.never_written and rows == ABSENT) or not k.agrees(rows):
            candidates.append(key)
        elif not k.pending and k.mirror != (rows if rows.exists else None):
            settled.append(key)
    for key in stored.keys() - known.keys():
        if stored[key].rows != ABSENT:
            candidates.append(key)
    action = OUTSIDE_ACTION if adopted else ADOPT_ACTION
    if candidates:
        _record(store, sorted(candidates), action, adopted, report)
    if settled or not adopted:
        _settle(store, settled, adopted)
    report.adopted = not adopted
    return report


def _record(
    store: FlipperTablesStore,
    candidates: list[str],
    action: str,
    adopted: bool,
    report: OutsideReport,
) -> None:
    where = store.flipper.url.shown
    why = (
        f"changed outside flagramp, in Flipper's tables at {where}"
        if adopted
        else f"adopted from Flipper's tables at {where}"
    )
    with store.unit_of_work(Author(OUTSIDE_AUTHOR, why)) as unit:
        if not adopted:
            stamp = store.clock.now().isoformat(timespec="microseconds")
            version = unit.write_version
            mark_adopted(unit.connection, store.environment, where, version, stamp)
        with store.flipper.engine.connect() as fconn:
            fresh = read_features(fconn, store.flipper.tables, candidates)
        for key in candidates:
            rows = _rows(fresh, key)
            k = unit.known(key)
            if k.never_written and rows == ABSENT:
                reason = _cannot_write(store, unit, key)
                if reason is None:
                    unit.touch(key)
                    report.pushed.append(key)
                else:
                    report.unreadable.append(Unreadable(key, reason))
                continue
            if k.agrees(rows):
                continue
            try:
                if unit.observe(key, rows, action):
                    report.recorded.append(key)
            except (ImportInvalid, FlagError) as exc:
                report.unreadable.append(Unreadable(key, str(exc)))


def _settle(store: FlipperTablesStore, keys: list[str], adopted: bool) -> None:
    """Bring the mirror up to date where the rows already are what flagramp
    says (read again under the lock); record the adoption."""
    environment = store.environment
    with begin_write(store.engine) as conn:
        lock_writers(conn)
        if keys:
            with store.flipper.engine.connect() as fconn:
                fresh = read_features(fconn, store.flipper.tables, keys)
            known = _known(store, conn, keys)
            stamp = store.clock.now().isoformat(timespec="microseconds")
            for key in keys:
                rows, k = _rows(fresh, key), known[key]
                if k.agrees(rows) and not k.pending:
                    set_mirror(conn, environment, key, rows, stamp)
        if not adopted:
            stamp = store.clock.now().isoformat(timespec="microseconds")
            version = SqlReader(conn).version()
            mark_adopted(conn, environment, store.flipper.url.shown, version, stamp)


def _cannot_write(
    store: FlipperTablesStore, unit: FlipperUnitOfWork, key: str
) -> str | None:
    """Why flagramp's flag `key` cannot be written to the tables, or None."""
    environment = store.environment
    flag = unit.require_flag(key, environment)
    try:
        rows_to_hold(
            flag, unit.segments(environment), store.flipper.schema, environment
        )
    except CANNOT_HOLD as exc:
        return f"flagramp's flag is not written to Flipper's tables: {exc}"
    return None


def _known(
    store: FlipperTablesStore, conn: Connection, keys: list[str] | None
) -> dict[str, Known]:
    """Known for `keys`, or for every key flagramp has a flag, mirror or pending
    row for; with each flag's own rows."""
    environment = store.environment
    reader = SqlReader(conn)
    known = read_known(conn, environment, keys)
    if keys is None or len(keys) > FEW:
        flags = {f.key: f for f in reader.list_flags(environment)}
    else:
        found = ((k, reader.get_flag(k, environment)) for k in keys)
        flags = {k: flag for k, flag in found if flag is not None}
    segments = reader.segments(environment)
    chosen = keys if keys is not None else sorted(known.keys() | flags.keys())
    result: dict[str, Known] = {}
    for key in chosen:
        k = known.get(key, Known())
        flag = flags.get(key)
        k.has_flag = flag is not None
        if flag is not None:
            k.document = rows_or_none(flag, segments, store.flipper.schema, environment)
        result[key] = k
    return result


def _rows(stored: dict[str, StoredFeature], key: str) -> FeatureRows:
    found = stored.get(key)
    return ABSENT if found is None else found.rows
