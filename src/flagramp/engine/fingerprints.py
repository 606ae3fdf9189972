"""Treatment's error fingerprints as a stage's evidence shows them.

For the go/no-go and incident records: each fingerprint treatment hit in the
stage, with its count, distinct users, first minute, redacted samples, and
whether it is new (never seen in control this stage nor in the baseline). New
ones come first, then by count; at most `MAX_SHOWN` are kept, so that frozen
evidence stays small when a flood fills the windows' caps.
"""

from __future__ import annotations

from collections.abc import Mapping

from flagramp.core.types import Json
from flagramp.engine.evidence import LaneTotals
from flagramp.stats.windows import FingerprintStats, SampleEvent

__all__ = ["MAX_SHOWN", "fingerprint_evidence"]

#: Fingerprints an evaluation lists, at most.
MAX_SHOWN = 50


def _sample(s: SampleEvent) -> dict[str, Json]:
    return {
        "at": s.at,
        "actor_tag": s.actor_tag,
        "route": s.route,
        "status": s.status,
        "latency_ms": s.latency_ms,
        "device": s.device,
    }


def _entry(name: str, stats: FingerprintStats, new: bool) -> dict[str, Json]:
    return {
        "name": name,
        "count": stats.count,
        "users": round(stats.actors.estimate()),
        "first_seen": int(stats.first_seen // 60),
        "samples": [_sample(s) for s in stats.samples],
        "new": new,
    }


def fingerprint_evidence(
    treatment: LaneTotals | None,
    control: LaneTotals | None,
    baseline: Mapping[str, int],
) -> tuple[dict[str, Json], ...]:
    """Treatment's fingerprints, new first, then by count (see the module)."""
    if treatment is None:
        return ()
    seen = set(baseline)
    if control is not None:
        seen |= set(control.fingerprint_parts)
    ranked = sorted(
        treatment.fingerprints().items(),
        key=lambda item: (item[0] in seen, -item[1].count, item[0]),
    )
    return tuple(
        _entry(name, stats, name not in seen) for name, stats in ranked[:MAX_SHOWN]
    )
