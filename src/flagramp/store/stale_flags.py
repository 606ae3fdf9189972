"""Flags that launched and stayed: fully on for longer than a time, no run on them.

Issue 21.6: after the last checkpoint a flag that is on for everyone is dead code
waiting to be removed. `stale_flags` reads each flag's audit history (oldest
first) to find when its current stretch of being fully on began, and keeps those
that began before `now - older_than` and that no running plan names. Pure: the
caller reads the flags, the histories and the running plans' flags.

*Fully on*: the boolean gate on, or 100 % of actors, or 100 % of the time (an
eligibility segment keeps it "fully on" for its whole audience, seed 003; denied
actors are reported, since someone may still rely on them).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass

from flagramp.core.flags import Flag
from flagramp.store.audit import AuditEntry
from flagramp.store.documents import flag_from_document, load_document


@dataclass(frozen=True, slots=True)
class StaleFlag:
    """A flag fully on since `since` (by `by`), with no run naming it."""

    key: str
    environment: str
    since: dt.datetime
    by: str
    """Who made the change that turned it fully on."""
    days: float
    denied_actors: int
    eligibility: str | None


def is_fully_on(flag: Flag) -> bool:
    """Whether the flag is on for everyone it applies to."""
    poa, pot = flag.percentage_of_actors, flag.percentage_of_time
    return (
        flag.boolean
        or (poa is not None and poa.value >= 100)
        or (pot is not None and pot.value >= 100)
    )


def fully_on_since(history: Iterable[AuditEntry]) -> tuple[dt.datetime, str] | None:
    """When (and by whom) the flag's current fully-on stretch began; None if it is
    not fully on by its history (a deleted flag, or no history)."""
    since: tuple[dt.datetime, str] | None = None
    for entry in history:
        if entry.entity_kind != "flag":
            continue
        if entry.after is None:
            since = None
            continue
        flag = flag_from_document(load_document(entry.after, f"audit row {entry.id}"))
        if not is_fully_on(flag):
            since = None
        elif since is None:
            since = (_time(entry.at), entry.actor)
    return since


def stale_flags(
    flags: Iterable[Flag],
    histories: Mapping[str, Iterable[AuditEntry]],
    *,
    environment: str,
    now: dt.datetime,
    older_than: dt.timedelta,
    running: Collection[str] = (),
) -> tuple[StaleFlag, ...]:
    """Flags fully on since before `now - older_than` and not in `running`.

    A flag fully on now whose history does not say since when (imported with no
    audit row that turned it on) is left out rather than guessed.
    """
    out = []
    for flag in flags:
        if flag.key in running or not is_fully_on(flag):
            continue
        found = fully_on_since(histories.get(flag.key, ()))
        if found is None:
            continue
        since, by = found
        age = now - since
        if age < older_than:
            continue
        out.append(
            StaleFlag(
                flag.key,
                environment,
                since,
                by,
                age.total_seconds() / 86_400,
                len(flag.denied_actors),
                flag.eligibility,
            )
        )
    return tuple(sorted(out, key=lambda s: (s.since, s.key)))


def _time(text: str) -> dt.datetime:
    at = dt.datetime.fromisoformat(text)
    return at if at.tzinfo else at.replace(tzinfo=dt.UTC)
