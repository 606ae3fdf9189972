"""What a window holds besides its metric sums: error fingerprints, breakdown rows,
redacted samples, and the caps that bound them under floods.

A cap keeps the lowest-ranked names by a stable hash (a bottom-k sample), never by
arrival order: a name kept in a merged window was kept in every part, so capped
windows merge exactly. See `stats.windows` for what the overflow means.
"""

from __future__ import annotations

import hashlib
import heapq
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from flagramp.core.errors import StatsError
from flagramp.core.events import OTHER_FINGERPRINTS
from flagramp.stats.sketches import DistinctActors

#: Fingerprints a window keeps by name; the rest count as OTHER_FINGERPRINTS.
#: Rationale: a few hundred distinct fingerprints a minute is a busy service (the
#: statistics benchmark runs 200); a million is a bug that puts ids in messages.
DEFAULT_FINGERPRINT_CAP = 1000
#: Breakdown rows a window keeps; the rest fold into (OTHER, OTHER, class, device).
DEFAULT_BREAKDOWN_CAP = 2000
#: The name and route of folded breakdown rows (no event name can start with "(").
OTHER = "(other)"


@dataclass(frozen=True, slots=True, order=True)
class SampleEvent:
    """A redacted failed request kept for incident records: no actor id, a hash tag."""

    at: float
    actor_tag: str
    route: str
    status: int
    latency_ms: float
    device: str


@dataclass(frozen=True, slots=True, eq=False)
class FingerprintStats:
    """One error fingerprint: occurrences, distinct users, first seen, samples.

    `samples` are the earliest few (at most `cap`) by time, so merges keep the same
    ones whatever their order.
    """

    count: int
    actors: DistinctActors
    first_seen: float
    samples: tuple[SampleEvent, ...]
    cap: int = 3

    def merge(self, other: FingerprintStats) -> FingerprintStats:
        """Both windows' record of this fingerprint."""
        return FingerprintStats(
            self.count + other.count,
            self.actors.merge(other.actors),
            min(self.first_seen, other.first_seen),
            tuple(heapq.nsmallest(self.cap, set(self.samples) | set(other.samples))),
            self.cap,
        )

    @classmethod
    def merge_all(cls, items: Iterable[FingerprintStats]) -> FingerprintStats:
        """All records as one (what pairwise `merge` gives, in one pass)."""
        parts = list(items)
        if not parts:
            raise StatsError("no fingerprint records to merge")
        cap = parts[0].cap
        samples = {s for p in parts for s in p.samples}
        return FingerprintStats(
            sum(p.count for p in parts),
            DistinctActors.union(p.actors for p in parts),
            min(p.first_seen for p in parts),
            # Rationale: the same as sorted(samples)[:cap], without sorting
            # every sample of a long stage's windows (the controller merges
            # them at each tick).
            tuple(heapq.nsmallest(cap, samples)),
            cap,
        )


def _rank_of(text: str) -> tuple[int, str]:
    # Do not change: stored windows were capped by this order, and merges with
    # them are exact only while it stays the same.
    digest = hashlib.blake2b(
        text.encode("utf-8", "surrogatepass"), digest_size=8, person=b"window-cap"
    ).digest()
    return int.from_bytes(digest, "big"), text


def fingerprint_rank(name: str) -> tuple[int, str]:
    """Where a fingerprint stands for a window's cap: the lowest ranks are kept."""
    return _rank_of(name)


def breakdown_rank(key: BreakdownKey) -> tuple[int, str]:
    """Where a breakdown row stands for a window's cap: the lowest ranks are kept."""
    return _rank_of("\x1f".join(key))


def cap_fingerprints(
    fingerprints: Mapping[str, FingerprintStats], cap: int
) -> dict[str, FingerprintStats]:
    """At most `cap` named fingerprints, the others merged into OTHER_FINGERPRINTS."""
    named = [n for n in fingerprints if n != OTHER_FINGERPRINTS]
    if len(named) <= cap:
        return dict(fingerprints)
    kept = set(heapq.nsmallest(cap, named, key=fingerprint_rank))
    out = {n: fingerprints[n] for n in named if n in kept}
    folded = [f for n, f in fingerprints.items() if n not in kept]
    out[OTHER_FINGERPRINTS] = FingerprintStats.merge_all(folded)
    return out


#: (event name, route, status class, device); business events have status class "".
BreakdownKey = tuple[str, str, str, str]


@dataclass(frozen=True, slots=True)
class BreakdownCell:
    """Events of one breakdown key: how many, how many failed, sum of their values."""

    count: float
    failed: float
    value_sum: float

    def merge(self, other: BreakdownCell) -> BreakdownCell:
        """Both cells added."""
        return BreakdownCell(
            self.count + other.count,
            self.failed + other.failed,
            self.value_sum + other.value_sum,
        )


def cap_breakdown(
    cells: Mapping[BreakdownKey, BreakdownCell], cap: int
) -> dict[BreakdownKey, BreakdownCell]:
    """At most `cap` rows by name; the others folded by status class and device."""
    named = [k for k in cells if k[0] != OTHER]
    if len(named) <= cap:
        return dict(cells)
    kept = set(heapq.nsmallest(cap, named, key=breakdown_rank))
    out = {k: cells[k] for k in named if k in kept}
    for key, cell in cells.items():
        if key in kept:
            continue
        folded = (OTHER, OTHER, key[2], key[3])
        mine = out.get(folded)
        out[folded] = cell if mine is None else mine.merge(cell)
    return out
