"""What every part of a report is collected from: the plan, the log, the windows.

`ReportContext` loads each flag's windows once (`WindowSource.windows`) and
slices them by time in memory, so a report costs one read per flag.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Protocol

from flagramp.core.errors import ReportError
from flagramp.core.plans import Plan, PlanInvalid, RolloutPhase, Stage, load_plan
from flagramp.core.types import Json
from flagramp.reports.model import Pending
from flagramp.reports.run_log import (
    ANSWERED,
    Located,
    locate,
    of_kind,
    position,
    text_of,
)
from flagramp.reports.run_record import RunEvent, RunRecord
from flagramp.stats.windows import DAY, Lane, Window


class WindowSource(Protocol):
    """Where windows are read from: `store.WindowStore` or anything alike."""

    def windows(
        self,
        run: str,
        flag: str,
        *,
        lane: Lane | None = None,
        start: int | None = None,
        end: int | None = None,
    ) -> tuple[Window, ...]:
        """Stored windows inside [start, end) (epoch minutes), oldest first."""
        ...


def _run_wide_stage(run: str, phase: int, stage: int, entered: dt.datetime) -> str:
    return run


def _run_wide(run: str) -> str:
    return run


@dataclass(frozen=True, slots=True)
class Scopes:
    """The ingest scopes (window run strings) a run's windows are stored under.

    The default reads every window under the run's own id. The engine opens one
    scope per stage attempt and one at go live (`engine.scopes.attempt_scope`:
    `R1/p0/s1/m29393280`, the minute the stage was entered;
    `engine.go_live_schedule.go_live_scope`): the CLI passes those. Windows of
    several scopes are merged as one run's (their users are a union of distinct
    actors; first-time counts of share metrics add up per scope).
    """

    stage: Callable[[str, int, int, dt.datetime], str] = _run_wide_stage
    """(run, phase, stage, when the attempt was entered) → its scope."""
    go_live: Callable[[str], str] = _run_wide
    """run → the scope opened at go live."""


def minute_of(at: dt.datetime) -> int:
    """The epoch minute `at` falls in."""
    return math.floor(at.timestamp() / 60)


def minute_after(at: dt.datetime) -> int:
    """The first epoch minute starting at or after `at`."""
    return math.ceil(at.timestamp() / 60)


def time_of_minute(minute: int | float) -> dt.datetime:
    """The UTC time an epoch minute starts at."""
    return dt.datetime.fromtimestamp(minute * 60, dt.UTC)


def read_plan(record: RunRecord) -> Plan:
    """The plan the run adopted; raises ReportError if it does not load."""
    try:
        return load_plan(record.plan_text, record.plan_file).plan
    except PlanInvalid as exc:
        raise ReportError(
            f"run {record.run}", f"its plan does not load: {exc}"
        ) from None


@dataclass
class ReportContext:
    """The plan, the log and the windows of one run, up to `as_of`."""

    record: RunRecord
    plan: Plan
    source: WindowSource
    as_of: dt.datetime
    scopes: Scopes = field(default_factory=Scopes)
    _windows: dict[str, list[tuple[int, int, tuple[Window, ...]]]] = field(
        default_factory=dict
    )
    _located: tuple[Located, ...] | None = None
    _hulls: dict[str, tuple[int, int]] = field(default_factory=dict)

    @property
    def events(self) -> tuple[RunEvent, ...]:
        """The log up to `as_of`."""
        return tuple(e for e in self.record.events if e.at <= self.as_of)

    @property
    def located(self) -> tuple[Located, ...]:
        """The log up to `as_of`, each event with its place in the run."""
        if self._located is None:
            self._located = locate(self.events)
        return self._located

    @property
    def state(self) -> Mapping[str, Json]:
        """The run's state JSON."""
        return self.record.state

    def windows(
        self, flag: str, start: int, end: int, scope: str | None = None
    ) -> list[Window]:
        """The flag's windows in `scope` (default: the run's id) that overlap
        [start, end) (epoch minutes), keyed as the run's.

        Minute windows are those that start in the span. A compacted window
        (an hour, a day) that straddles the span's edge cannot be split: it
        counts in every span it overlaps.
        """
        run = scope or self.record.run
        end = min(end, minute_after(self.as_of))
        name = f"{run}\x1f{flag}"
        reads = self._windows.setdefault(name, [])
        for lo, hi, found in reads:
            if lo <= start and end <= hi:
                return [w for w in found if w.key.start < end and w.key.end > start]
        lo, hi = self._hulls.get(name, (start, end))
        if not (lo <= start and end <= hi):
            lo, hi = start, end
        # The store returns windows wholly inside what it is asked for: ask a
        # day wider on each side, the longest span windows compact into.
        found = self.source.windows(run, flag, start=lo - DAY, end=hi + DAY)
        if run != self.record.run:
            # Windows merge only within one run string: key them as the run's.
            found = tuple(
                replace(w, key=replace(w.key, run=self.record.run)) for w in found
            )
        reads.append((lo, hi, found))
        return [w for w in found if w.key.start < end and w.key.end > start]

    def will_read(
        self, flag: str, start: int, end: int, scope: str | None = None
    ) -> None:
        """Say that `windows` will be asked for this span: the first read of the
        scope's flag then covers every span said, in one query."""
        name = f"{scope or self.record.run}\x1f{flag}"
        lo, hi = self._hulls.get(name, (start, end))
        self._hulls[name] = (
            min(lo, start),
            max(hi, min(end, minute_after(self.as_of))),
        )

    def stage_at(self, phase: int, stage: int) -> Stage | None:
        """The stage at these indexes of a rollout phase, if there is one."""
        if not 0 <= phase < len(self.plan.phases):
            return None
        found = self.plan.phases[phase]
        if not isinstance(found, RolloutPhase) or not 0 <= stage < len(found.stages):
            return None
        return found.stages[stage]

    def role_title(self, role: str) -> str:
        """A role's title, or its name when the plan gives none."""
        found = self.plan.roles.get(role)
        return (found.title if found and found.title else None) or role

    def who(self, role: str) -> str:
        """A role in words with its people: `VAOS Product Owner (po@va.gov)`."""
        found = self.plan.roles.get(role)
        if found is None:
            return role
        return f"{self.role_title(role)} ({', '.join(found.people)})"

    def pending(self, what: str, role: str | None) -> Pending:
        """A value that `role` has not given yet."""
        return Pending(what, self.who(role) if role else None)

    def answers(
        self, where: tuple[int, int] | None = None, checkpoint: str | None = None
    ) -> Mapping[str, RunEvent]:
        """Question text → the last answer event at this stage or checkpoint.

        With neither, the answers that name no stage and no checkpoint (the
        go live's questions).
        """
        out: dict[str, RunEvent] = {}
        for event in of_kind(self.events, ANSWERED):
            at_checkpoint = text_of(event.data, "checkpoint") or None
            if position(event) != where or at_checkpoint != checkpoint:
                continue
            question = text_of(event.data, "question")
            if question:
                out[_normal(question)] = event
        return out


def _normal(text: str) -> str:
    return " ".join(text.split())


def normal_question(text: str) -> str:
    """A question's text with its whitespace normalised (YAML folds lines)."""
    return _normal(text)


def json_float(data: Mapping[str, Json], key: str) -> float | None:
    """A finite number under `key`, or None."""
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def json_time(data: Mapping[str, Json], key: str) -> dt.datetime | None:
    """An ISO date-time under `key`, or None."""
    value = data.get(key)
    if not isinstance(value, str):
        return None
    try:
        return dt.datetime.fromisoformat(value)
    except ValueError:
        return None


def json_texts(data: Mapping[str, Json], key: str) -> tuple[str, ...]:
    """The strings of a list under `key`."""
    value = data.get(key)
    if not isinstance(value, list):
        return ()
    return tuple(v for v in value if isinstance(v, str))
