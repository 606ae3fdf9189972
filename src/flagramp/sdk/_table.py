"""The flags a client serves: compiled once per change, read without locks.

A `FlagTable` is never changed after it is built: an update builds the next table
and the client swaps one reference, so an evaluation on another thread sees either
the old table or the new one, whole. Unchanged flags keep their `Entry` (and with
it their compiled check and the exposures already seen this minute).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from flagramp.core.flags import Evaluator, Flag, Segment
from flagramp.core.flags.gates import Predicate
from flagramp.core.types import Json
from flagramp.sdk._documents import (
    FLAG,
    SEGMENT,
    ChangeSet,
    Problem,
    Snapshot,
    read_flag,
    read_segment,
)

Documents = dict[str, dict[str, Mapping[str, Json]]]


class Entry:
    """One flag ready for the hot path.

    `seen` maps each actor exposed this minute to the variant last sent for
    them (True/False), or to `BOTH` for a flag that draws per check
    (percentage_of_time) once both variants were sent. The client replaces it
    when the minute turns, and hands it on to the entry that replaces this one
    when the flag changes.
    """

    __slots__ = ("allowed", "check", "draws", "flag", "seen")

    def __init__(self, flag: Flag, check: Predicate) -> None:
        self.flag = flag
        self.check = check
        self.allowed = frozenset(flag.actors)
        pot = flag.percentage_of_time
        self.draws = pot is not None and 0 < pot.value < 100
        self.seen: dict[str, object] = {}


#: In `Entry.seen`: both variants were sent this minute (a flag that draws).
BOTH = object()


@dataclass(frozen=True, slots=True)
class FlagTable:
    """Every flag of one environment at one version, compiled."""

    environment: str
    version: int
    source: str
    entries: Mapping[str, Entry]
    segments: Mapping[str, Segment]
    evaluator: Evaluator
    documents: Documents = field(repr=False)

    def to_snapshot_document(self) -> dict[str, Json]:
        """The table in the server's snapshot shape (what the cache stores)."""
        return {
            "environment": self.environment,
            "version": self.version,
            "flags": [dict(d) for d in self.documents[FLAG].values()],
            "segments": [dict(d) for d in self.documents[SEGMENT].values()],
        }


@dataclass(frozen=True, slots=True)
class Update:
    """A new table, the flags whose answers may have changed, what was unreadable."""

    table: FlagTable
    changed: tuple[str, ...]
    problems: tuple[Problem, ...]


@dataclass(frozen=True, slots=True)
class Compiler:
    """How flags are compiled: the clock expressions read, the dice time uses."""

    now: Callable[[], dt.datetime]
    random: Callable[[], float]

    def evaluator(self, segments: Mapping[str, Segment]) -> Evaluator:
        return Evaluator(segments, _ClockOf(self.now), self.random)


def empty_table(environment: str, compiler: Compiler) -> FlagTable:
    """A table with no flags: every check answers the caller's default."""
    return FlagTable(
        environment, -1, "none", {}, {}, compiler.evaluator({}), {FLAG: {}, SEGMENT: {}}
    )


def from_snapshot(
    snapshot: Snapshot, previous: FlagTable, compiler: Compiler, source: str
) -> Update:
    """The table for a whole snapshot; a flag or segment the snapshot could not
    read keeps its previous value (fail-static), if there was one."""
    flags = dict(snapshot.flags)
    segments = dict(snapshot.segments)
    documents: Documents = {
        FLAG: dict(snapshot.documents[FLAG]),
        SEGMENT: dict(snapshot.documents[SEGMENT]),
    }
    for problem in snapshot.problems:
        _keep_previous(problem, previous, flags, segments, documents)
    return _build(
        previous,
        snapshot.environment or previous.environment,
        snapshot.version,
        source,
        flags,
        segments,
        documents,
        compiler,
        snapshot.problems,
    )


def with_changes(previous: FlagTable, changes: ChangeSet, compiler: Compiler) -> Update:
    """The table after one store version's changes."""
    flags = {key: e.flag for key, e in previous.entries.items()}
    segments = dict(previous.segments)
    documents: Documents = {kind: dict(d) for kind, d in previous.documents.items()}
    problems: list[Problem] = []
    for change in changes.changes:
        values: dict[str, Flag] | dict[str, Segment]
        values = flags if change.kind == FLAG else segments
        if change.after is None:
            values.pop(change.key, None)
            documents[change.kind].pop(change.key, None)
            continue
        try:
            if change.kind == FLAG:
                flags[change.key] = read_flag(change.after)
            else:
                segments[change.key] = read_segment(change.after)
        except ValueError as exc:
            problems.append(Problem(change.kind, change.key, str(exc)))
            continue
        documents[change.kind][change.key] = change.after
    return _build(
        previous,
        previous.environment,
        changes.version,
        "server",
        flags,
        segments,
        documents,
        compiler,
        tuple(problems),
    )


def _keep_previous(
    problem: Problem,
    previous: FlagTable,
    flags: dict[str, Flag],
    segments: dict[str, Segment],
    documents: Documents,
) -> None:
    key = problem.key
    if key is None:
        return
    if problem.kind == FLAG and key in previous.entries:
        flags[key] = previous.entries[key].flag
        documents[FLAG][key] = previous.documents[FLAG][key]
    elif problem.kind == SEGMENT and key in previous.segments:
        segments[key] = previous.segments[key]
        documents[SEGMENT][key] = previous.documents[SEGMENT][key]


def _build(
    previous: FlagTable,
    environment: str,
    version: int,
    source: str,
    flags: Mapping[str, Flag],
    segments: dict[str, Segment],
    documents: Documents,
    compiler: Compiler,
    problems: tuple[Problem, ...],
) -> Update:
    segments_changed = segments != dict(previous.segments)
    evaluator = compiler.evaluator(segments) if segments_changed else previous.evaluator
    changed_segments = _changed_keys(previous.segments, segments)
    entries: dict[str, Entry] = {}
    changed: list[str] = []
    for key, flag in flags.items():
        old = previous.entries.get(key)
        uses_changed = bool(changed_segments & _segments_of(flag))
        if old is not None and old.flag == flag and not uses_changed:
            entries[key] = old if not segments_changed else _recompiled(old, evaluator)
            continue
        entries[key] = Entry(flag, evaluator.compile(flag).is_enabled)
        changed.append(key)
    changed.extend(k for k in previous.entries if k not in flags)
    table = FlagTable(
        environment, version, source, entries, segments, evaluator, documents
    )
    return Update(table, tuple(changed), problems)


def _recompiled(old: Entry, evaluator: Evaluator) -> Entry:
    # The segments changed but not the ones this flag reads: compile it against
    # the new evaluator anyway, so that no table holds two segment generations.
    return Entry(old.flag, evaluator.compile(old.flag).is_enabled)


def _segments_of(flag: Flag) -> set[str]:
    names = set(flag.groups)
    if flag.eligibility is not None:
        names.add(flag.eligibility)
    return names


def _changed_keys(
    before: Mapping[str, Segment], after: Mapping[str, Segment]
) -> set[str]:
    keys: Iterable[str] = set(before) | set(after)
    return {k for k in keys if before.get(k) != after.get(k)}


class _ClockOf:
    """A core `Clock` from a function (the client's wall-clock reading)."""

    __slots__ = ("now",)

    def __init__(self, now: Callable[[], dt.datetime]) -> None:
        self.now = now
