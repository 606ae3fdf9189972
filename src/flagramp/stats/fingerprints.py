"""Error fingerprints of a stage's windows as the novelty rule's tallies.

Each fingerprint's distinct users are united over the windows of each compared
lane (on = treatment, off = control; allow-listed actors never count). The
fingerprints a window counted together under OTHER_FINGERPRINTS (beyond its cap)
are tallied like one more fingerprint: a flood of new fingerprints in treatment is
then one new error class with the flood's treatment users, so the rule still fires
when a flood pushes a real new fingerprint out of the windows.
"""

from __future__ import annotations

from collections.abc import Iterable

from flagramp.stats.novelty import FingerprintTally
from flagramp.stats.sketches import DistinctActors
from flagramp.stats.windows import Lane, Window


def fingerprint_tallies(windows: Iterable[Window]) -> tuple[FingerprintTally, ...]:
    """One tally per fingerprint: distinct users per arm, earliest first seen.

    Users above the exact cap are HyperLogLog estimates, rounded. Ordered by
    (first seen, name).
    """
    users: dict[tuple[str, Lane], list[DistinctActors]] = {}
    first_seen: dict[str, float] = {}
    for window in windows:
        lane = window.key.lane
        if not lane.is_compared:
            continue
        for name, stats in window.fingerprints.items():
            users.setdefault((name, lane), []).append(stats.actors)
            seen = first_seen.get(name)
            first_seen[name] = (
                stats.first_seen if seen is None else min(seen, stats.first_seen)
            )

    def count(name: str, lane: Lane) -> int:
        parts = users.get((name, lane))
        return 0 if not parts else round(DistinctActors.union(parts).estimate())

    return tuple(
        FingerprintTally(name, count(name, Lane.ON), count(name, Lane.OFF), seen)
        for name, seen in sorted(first_seen.items(), key=lambda item: item[::-1])
    )
