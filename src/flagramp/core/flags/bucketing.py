"""Percentage-of-actors bucketing, bit-exact with Flipper.

Do not change. Flipper computes
`Zlib.crc32(feature_name + id) % 100_000 < percentage * 1_000`; any "fix" (a better
hash, removing the modulo bias) re-buckets essentially every actor on upgrade and
silently flips who is enabled, in flagramp and in every Ruby app sharing the flags.
Stable, deterministic bucketing matters far more here than perfect uniformity.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence

#: Buckets per percentage point: three decimals of precision.
SCALING_FACTOR = 1_000
BUCKETS = 100 * SCALING_FACTOR


def bucket(feature_key: str, actor_ids: Sequence[str]) -> int:
    """The actor's bucket in 0..99_999 for this feature.

    One actor: `feature_key + id`. Several actors (Flipper ≥ 0.28): the ids sorted
    bytewise and joined with no separator, duplicates kept.
    """
    if len(actor_ids) == 1:
        joined = actor_ids[0]
    else:
        joined = "".join(sorted(actor_ids, key=lambda s: s.encode()))
    return zlib.crc32((feature_key + joined).encode()) % BUCKETS


def in_percentage(
    feature_key: str, actor_ids: Sequence[str], percentage: float
) -> bool:
    """True if the actors fall inside `percentage` (0 → never, 100 → always)."""
    if percentage <= 0:
        return False
    if percentage >= 100:
        return True
    return bucket(feature_key, actor_ids) < percentage * SCALING_FACTOR
