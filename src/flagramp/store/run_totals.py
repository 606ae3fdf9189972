"""Totals over every run, for `/metrics`: runs by status, transitions written,
rollbacks and kills.

Read from the run tables at scrape time, so every server replica reports the
same figures whichever one holds the controller's lease. A run's `version`
grows by one with every transition, so their sum counts transitions; the
event log is append-only, so its counts only grow (Prometheus counters).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, func, select

from flagramp.store.connections import reading
from flagramp.store.run_tables import run_events, runs

#: Event kinds that take a run's flags back: a plan's rollback, the kill switch.
ROLLBACK_KINDS = ("rolled_back", "killed")


@dataclass(frozen=True, slots=True)
class RunTotals:
    """Runs by status, transitions written, rollbacks by kind."""

    by_status: dict[str, int]
    transitions: int
    rollbacks: dict[str, int]


def run_totals(engine: Engine) -> RunTotals:
    """The totals now (two queries); raises StoreError when the store fails."""
    with reading(engine, "run totals") as conn:
        statuses = conn.execute(
            select(runs.c.status, func.count(), func.sum(runs.c.version)).group_by(
                runs.c.status
            )
        ).all()
        kinds = conn.execute(
            select(run_events.c.kind, func.count())
            .where(run_events.c.kind.in_(ROLLBACK_KINDS))
            .group_by(run_events.c.kind)
        ).all()
    return RunTotals(
        by_status={str(s): int(n) for s, n, _ in statuses},
        transitions=sum(int(v or 0) for _, _, v in statuses),
        rollbacks={kind: 0 for kind in ROLLBACK_KINDS}
        | {str(k): int(n) for k, n in kinds},
    )
