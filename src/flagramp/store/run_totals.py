"""Totals over every run, for `/metrics`: runs by status, transitions written,
rollbacks and kills, and guard decisions.

Read from the run tables at scrape time, so every server replica reports the
same figures whichever one holds the controller's lease. A run's `version`
grows by one with every transition, so their sum counts transitions; the
event log is append-only, so its counts only grow (Prometheus counters).

Guard decisions come from the two places the log keeps them: each
`stage_left` entry's `guards` (every criterion's mode and the decision the
stage was left on), and the entries a criterion found harmful writes, once per
stage attempt (`guard_harmful`, or `would_pause` / `would_roll_back` when it
only reports). The cost of `run_totals`: three queries on one connection, two
of them grouped counts; the third reads the `data` of those entries only (a
few hundred bytes each; one per stage left and per harm found, over all runs),
parsed in Python, since the JSON is text in every backend. `/metrics` reads
the same figures incrementally instead (`run_totals_counter`).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import Engine, func, select

from flagramp.store.connections import reading
from flagramp.store.run_tables import run_events, runs

#: Event kinds that take a run's flags back: a plan's rollback, the kill switch.
ROLLBACK_KINDS = ("rolled_back", "killed")
#: The entry a stage's exit writes, with its criteria's decisions.
STAGE_LEFT = "stage_left"
#: Entries a criterion found harmful writes: it acted (or only logs), or it
#: reports what it would have done (observe mode, a UAT stage, an observed run).
HARM_KINDS = ("guard_harmful", "would_pause", "would_roll_back")
#: The harms that moved the run: a pause or a rollback was applied for them.
ACTING = ("pause", "step_back", "disable_all")

#: (decision, mode) -> criteria that stood at that decision when a stage was left.
Decisions = Counter[tuple[str, str]]
#: (mode, action, acted) -> criteria found harmful.
Harms = Counter[tuple[str, str, str]]


@dataclass(frozen=True, slots=True)
class RunTotals:
    """Runs by status, transitions written, rollbacks by kind."""

    by_status: dict[str, int]
    transitions: int
    rollbacks: dict[str, int]
    #: (decision, mode): criteria's decisions when their stages were left.
    decisions: Decisions = field(default_factory=Counter)
    #: (mode, action, acted): criteria found harmful, once per stage attempt.
    harms: Harms = field(default_factory=Counter)


def run_totals(engine: Engine) -> RunTotals:
    """The totals now (three queries); raises StoreError when the store fails."""
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
        guarded = conn.execute(
            select(run_events.c.kind, run_events.c.data).where(
                run_events.c.kind.in_((STAGE_LEFT, *HARM_KINDS))
            )
        ).all()
    decisions, harms = guard_counts((str(k), str(d)) for k, d in guarded)
    return RunTotals(
        by_status={str(s): int(n) for s, n, _ in statuses},
        transitions=sum(int(v or 0) for _, _, v in statuses),
        rollbacks={kind: 0 for kind in ROLLBACK_KINDS}
        | {str(k): int(n) for k, n in kinds},
        decisions=decisions,
        harms=harms,
    )


def guard_counts(entries: Iterable[tuple[str, str]]) -> tuple[Decisions, Harms]:
    """Decisions and harms from `(kind, data)` log entries (see the module's
    docstring); an entry without the fields (written before they were) counts
    for nothing."""
    decisions: Decisions = Counter()
    harms: Harms = Counter()
    for kind, text in entries:
        data = json.loads(text)
        if not isinstance(data, dict):
            continue
        if kind == STAGE_LEFT:
            for guard in data.get("guards") or ():
                if isinstance(guard, dict):
                    decisions[(str(guard.get("decision")), str(guard.get("mode")))] += 1
            continue
        decision = data.get("decision")
        mode = decision.get("mode") if isinstance(decision, dict) else None
        action = str(data.get("action"))
        acted = kind == "guard_harmful" and action in ACTING
        harms[(str(mode), action, "true" if acted else "false")] += 1
    return decisions, harms
