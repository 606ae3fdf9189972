"""Run totals kept between scrapes: each read counts only the log's new entries.

`run_totals` reads every `stage_left` and harm entry of every run at each
scrape (0.3 s at 50,000 entries). `RunTotalsCounter` keeps what it counted and,
per run, the last `seq` counted (a run's log numbers its entries from 1 without
gaps, see `run_tables`); a read asks for each run's newest `seq` (one grouped
query on the primary key) and reads only the entries after the one it holds.
The figures are the same as `run_totals`' would be: the log is append-only and
one writer at a time appends to a run, so an entry up to a run's newest `seq`,
once seen, is committed with every entry before it.

Only a restore rewrites the log (`store/epochs.py`): it gives the store a new
epoch. When the store's epoch is not the one counted under, or a run's newest
`seq` is below the one counted (or the run is gone), everything is counted
again. The epoch is read before and after the log: a restore committed in
between (PostgreSQL reads each statement at its own snapshot) discards the read
and it is done again, so no figure mixes two histories.

Each counter counts on its own, from the store: several collectors or server
replicas each say the same.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import Connection, Engine, and_, func, or_, select

from flagramp.core.errors import StoreError
from flagramp.store.connections import reading
from flagramp.store.epochs import read_position
from flagramp.store.run_tables import run_events, runs
from flagramp.store.run_totals import (
    HARM_KINDS,
    ROLLBACK_KINDS,
    STAGE_LEFT,
    Decisions,
    Harms,
    RunTotals,
    guard_counts,
)

#: The log entries counted: guard decisions, harms, rollbacks and kills.
COUNTED_KINDS = (STAGE_LEFT, *HARM_KINDS, *ROLLBACK_KINDS)
#: Above this many runs with new entries, one read of every counted entry
#: (filtered in Python) is cheaper than a condition per run.
MAX_RUNS_PER_QUERY = 200
#: Reads begun again when a restore lands in the middle of one.
ATTEMPTS = 3

#: One log entry as read: (run, seq, kind, data).
Entry = tuple[str, int, str, str]


@dataclass(slots=True)
class Tally:
    """What was counted, in which epoch, up to which `seq` of each run."""

    epoch: str
    counted: dict[str, int] = field(default_factory=dict)
    rollbacks: Counter[str] = field(default_factory=Counter)
    decisions: Decisions = field(default_factory=Counter)
    harms: Harms = field(default_factory=Counter)

    def holds(self, epoch: str, heads: dict[str, int]) -> bool:
        """Whether this tally is of the history the store holds now."""
        return self.epoch == epoch and all(
            heads.get(run, 0) >= seq for run, seq in self.counted.items()
        )

    def copy(self) -> Tally:
        return Tally(
            self.epoch,
            dict(self.counted),
            Counter(self.rollbacks),
            Counter(self.decisions),
            Counter(self.harms),
        )

    def add(self, entries: Iterable[tuple[str, str]]) -> None:
        """Count `(kind, data)` entries."""
        guarded: list[tuple[str, str]] = []
        for kind, data in entries:
            if kind in ROLLBACK_KINDS:
                self.rollbacks[kind] += 1
            else:
                guarded.append((kind, data))
        decisions, harms = guard_counts(guarded)
        self.decisions.update(decisions)
        self.harms.update(harms)


class RunTotalsCounter:
    """`run_totals`, counted incrementally (see the module's docstring);
    thread-safe (two scrapes at once read one after the other)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._tally: Tally | None = None
        self._lock = threading.Lock()

    def read(self) -> RunTotals:
        """The totals now; raises StoreError when the store fails."""
        with self._lock, reading(self.engine, "run totals") as conn:
            for _ in range(ATTEMPTS):
                epoch = read_position(conn).epoch
                statuses = conn.execute(
                    select(
                        runs.c.status, func.count(), func.sum(runs.c.version)
                    ).group_by(runs.c.status)
                ).all()
                heads = newest_seqs(conn)
                held = self._tally
                tally = (
                    held.copy()
                    if held is not None and held.holds(epoch, heads)
                    else Tally(epoch)
                )
                spans = {
                    run: (tally.counted.get(run, 0), head)
                    for run, head in heads.items()
                    if head > tally.counted.get(run, 0)
                }
                tally.add((kind, data) for _, _, kind, data in new_entries(conn, spans))
                tally.counted.update({run: head for run, (_, head) in spans.items()})
                if read_position(conn).epoch != epoch:
                    continue  # restored meanwhile: read the new history again
                self._tally = tally
                return RunTotals(
                    by_status={str(s): int(n) for s, n, _ in statuses},
                    transitions=sum(int(v or 0) for _, _, v in statuses),
                    rollbacks={kind: 0 for kind in ROLLBACK_KINDS}
                    | dict(tally.rollbacks),
                    decisions=Counter(tally.decisions),
                    harms=Counter(tally.harms),
                )
        raise StoreError("run totals could not be read: the store is being restored")


def newest_seqs(conn: Connection) -> dict[str, int]:
    """Each run's newest log `seq` (the primary key's index alone)."""
    rows = conn.execute(
        select(run_events.c.run, func.max(run_events.c.seq)).group_by(run_events.c.run)
    ).all()
    return {str(run): int(seq) for run, seq in rows}


def new_entries(conn: Connection, spans: dict[str, tuple[int, int]]) -> list[Entry]:
    """The counted entries of each run with `after < seq <= upto` for its
    `(after, upto)` in `spans`: entries appended after the runs' newest seqs
    were read are left for the next read."""
    if not spans:
        return []
    columns = (
        run_events.c.run,
        run_events.c.seq,
        run_events.c.kind,
        run_events.c.data,
    )
    query = select(*columns).where(run_events.c.kind.in_(COUNTED_KINDS))
    if len(spans) <= MAX_RUNS_PER_QUERY:
        query = query.where(
            or_(
                *(
                    and_(
                        run_events.c.run == run,
                        run_events.c.seq > after,
                        run_events.c.seq <= upto,
                    )
                    for run, (after, upto) in spans.items()
                )
            )
        )
    found: list[Entry] = []
    for run, seq, kind, data in conn.execute(query).all():
        span = spans.get(str(run))
        if span is not None and span[0] < int(seq) <= span[1]:
            found.append((str(run), int(seq), str(kind), str(data)))
    return found
