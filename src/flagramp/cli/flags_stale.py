"""What `flagramp flags stale` reports: flags ready to remove.

Two reasons a flag is listed, both only while no run that is not final names
it: it has been fully on for longer than the asked time (`store.stale_flags`),
or a completed run marked it ready to remove (`store.flag_retirements`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from flagramp.engine.go_live_schedule import run_flags
from flagramp.engine.plan_cache import PlanCache
from flagramp.engine.run_state import RunStatus
from flagramp.store import SqlFlagStore
from flagramp.store.flag_retirements import RetirementMark, ready_to_remove
from flagramp.store.runs import RunReader
from flagramp.store.stale_flags import StaleFlag, stale_flags

__all__ = ["StaleRow", "running_flags", "stale_rows"]


@dataclass(frozen=True, slots=True)
class StaleRow:
    """One flag ready to remove, and why."""

    key: str
    environment: str
    stale: StaleFlag | None
    """Fully on for longer than the asked time (None: not, or not known)."""
    mark: RetirementMark | None
    """The run that proposed retiring it (None: none did)."""

    def to_json(self) -> dict[str, object]:
        s, m = self.stale, self.mark
        return {
            "flag": self.key,
            "environment": self.environment,
            "fully_on_since": None if s is None else s.since.isoformat(),
            "by": None if s is None else s.by,
            "days": None if s is None else round(s.days, 1),
            "denied_actors": None if s is None else s.denied_actors,
            "eligibility": None if s is None else s.eligibility,
            "ready_to_remove": None
            if m is None
            else {"run": m.run, "at": m.at.isoformat(), "by": m.by},
        }


def running_flags(store: SqlFlagStore, environment: str) -> set[str]:
    """The flags named by every run of `environment` that is not final."""
    active = [s.value for s in RunStatus if not s.is_final]
    plans = PlanCache()
    found: set[str] = set()
    for row in RunReader(store.engine).runs(statuses=active):
        if row.environment != environment:
            continue
        found.update(run_flags(plans.context(row).plan))
    return found


def stale_rows(
    store: SqlFlagStore, environment: str, *, now: dt.datetime, older_than: dt.timedelta
) -> list[StaleRow]:
    """The flags ready to remove in `environment`, by key."""
    flags = store.list_flags(environment)
    histories = {f.key: store.history(f.key, environment) for f in flags}
    running = running_flags(store, environment)
    stale = {
        s.key: s
        for s in stale_flags(
            flags,
            histories,
            environment=environment,
            now=now,
            older_than=older_than,
            running=running,
        )
    }
    existing = {f.key for f in flags}
    marks = {
        key: mark
        for key, mark in ready_to_remove(store.engine, environment).items()
        if key in existing and key not in running
    }
    return [
        StaleRow(key, environment, stale.get(key), marks.get(key))
        for key in sorted(stale.keys() | marks.keys())
    ]
