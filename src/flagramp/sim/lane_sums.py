"""One flag's sums over a span of minutes, per lane, channel and user bucket.

Plain numpy arrays (`sim` may not import `stats`; the caller builds stats windows
from them). Lanes are OFF 0, ON 1, ALLOW_LISTED 2; channels are numbered by
`channels.channel_table`; buckets by `population.user_bucket` (the real ingest's
rule). Sets of users are kept as sorted codes, so that spans merge exactly and a
caller can find first-time users (share of users, unique actors) and distinct
users per fingerprint over any horizon:

- `exposed`: lane · N + user (N users in the population);
- `channel_users`: (lane · C + channel) · N + user;
- `fingerprint_users`: (lane · F + fingerprint) · N + user.

Values (latencies, scores) are multiples of 1/1024 and are also binned with
DDSketch's logarithmic mapping (`value_bins`: its keys for the given relative
accuracy), so a caller rebuilds exactly the sketch the real ingest would hold.
For each of the span's `thresholds` (share_above metrics), `above` counts the
values strictly above it, as the real ingest compares them.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from flagramp.core.errors import InvalidScenario

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

#: Value-bin codes: (lane · C + channel) · KEY_SPAN + key + KEY_OFFSET.
KEY_SPAN = 1 << 32
KEY_OFFSET = 1 << 31
#: First minute of a fingerprint that never occurred.
NEVER = -1


def ddsketch_keys(values: FloatArray, relative_accuracy: float) -> IntArray:
    """DDSketch's logarithmic-mapping keys of positive values.

    Same arithmetic as `ddsketch.mapping.LogarithmicMapping` (and
    `stats.sketches`): key = ceil(log2(v) · multiplier).
    """
    mantissa = 2 * relative_accuracy / (1 - relative_accuracy)
    multiplier = math.log(2) / math.log1p(mantissa)
    keys = np.ceil(np.log(values) / math.log(2) * multiplier)
    return np.asarray(keys, dtype=np.int64)


def zero_threshold(relative_accuracy: float) -> float:
    """Values at or below this land in DDSketch's zero bin."""
    return sys.float_info.min * (1 + 2 * relative_accuracy / (1 - relative_accuracy))


def union(a: IntArray, b: IntArray) -> IntArray:
    """The sorted union of two sorted arrays of distinct codes."""
    if a.shape[0] == 0 or b.shape[0] == 0:
        return b if a.shape[0] == 0 else a
    both = np.concatenate([a, b])
    # Rationale: a stable sort of two sorted runs is a merge (timsort finds
    # the runs), linear where np.union1d sorts from scratch.
    both.sort(kind="stable")
    keep = np.empty(both.shape[0], dtype=bool)
    keep[0] = True
    np.not_equal(both[1:], both[:-1], out=keep[1:])
    return both[keep]


def _slice(codes: IntArray, low: int, high: int) -> IntArray:
    lo, hi = np.searchsorted(codes, [low, high], side="left")
    return codes[lo:hi]


@dataclass(frozen=True, slots=True, eq=False)
class FlagSums:
    """A flag's lanes over minutes [start, end). Shapes (L lanes, C channels,
    B buckets, F fingerprints): `exposures` (L, B) exposure events; `counts`,
    `value_sums`, `value_counts` (L, C, B); `value_zero`, `value_min`,
    `value_max` (L, C); `fingerprint_counts`, `fingerprint_first` (L, F);
    `above` (T, L, C, B) for T `thresholds`.
    """

    flag: str
    start: int
    end: int
    users: int
    exposures: FloatArray
    exposed: IntArray
    counts: FloatArray
    value_sums: FloatArray
    value_counts: FloatArray
    value_codes: IntArray
    value_code_counts: FloatArray
    value_zero: FloatArray
    value_min: FloatArray
    value_max: FloatArray
    channel_users: IntArray
    fingerprint_counts: FloatArray
    fingerprint_users: IntArray
    fingerprint_first: IntArray
    thresholds: tuple[float, ...]
    above: FloatArray

    @property
    def channels(self) -> int:
        return int(self.counts.shape[1])

    @property
    def fingerprints(self) -> int:
        return int(self.fingerprint_counts.shape[1])

    def exposed_users(self, lane: int) -> IntArray:
        """Users (population indices) exposed in `lane` during the span."""
        n = self.users
        return _slice(self.exposed, lane * n, (lane + 1) * n) - lane * n

    def users_of(self, lane: int, channel: int) -> IntArray:
        """Users with at least one event of `channel` in `lane`."""
        n, first = self.users, (lane * self.channels + channel) * self.users
        return _slice(self.channel_users, first, first + n) - first

    def fingerprint_user_ids(self, lane: int, fingerprint: int) -> IntArray:
        """Users who hit `fingerprint` in `lane`."""
        n, first = self.users, (lane * self.fingerprints + fingerprint) * self.users
        return _slice(self.fingerprint_users, first, first + n) - first

    def above_counts(self, threshold: float) -> FloatArray:
        """(L, C, B): values strictly above `threshold`, per lane, channel, bucket."""
        if threshold not in self.thresholds:
            raise InvalidScenario(
                "FlagSums.above_counts", f"no sums for the threshold {threshold!r}"
            )
        found: FloatArray = self.above[self.thresholds.index(threshold)]
        return found

    def value_bins(self, lane: int, channel: int) -> tuple[IntArray, FloatArray]:
        """DDSketch keys and counts of the channel's positive values in `lane`."""
        first = (lane * self.channels + channel) * KEY_SPAN
        lo, hi = np.searchsorted(self.value_codes, [first, first + KEY_SPAN])
        keys = self.value_codes[lo:hi] - first - KEY_OFFSET
        return keys.astype(np.int64), self.value_code_counts[lo:hi]

    def merge(self, other: FlagSums) -> FlagSums:
        """The sums of two adjacent spans of the same flag (exact)."""
        if (
            other.flag != self.flag
            or other.start != self.end
            or other.thresholds != self.thresholds
        ):
            raise InvalidScenario(
                "FlagSums.merge",
                "needs the same flag and thresholds, and the next span",
            )
        codes, where = np.unique(
            np.concatenate([self.value_codes, other.value_codes]), return_inverse=True
        )
        weights = np.concatenate([self.value_code_counts, other.value_code_counts])
        first = np.where(
            self.fingerprint_first == NEVER,
            other.fingerprint_first,
            self.fingerprint_first,
        )
        return FlagSums(
            flag=self.flag,
            start=self.start,
            end=other.end,
            users=self.users,
            exposures=self.exposures + other.exposures,
            exposed=union(self.exposed, other.exposed),
            counts=self.counts + other.counts,
            value_sums=self.value_sums + other.value_sums,
            value_counts=self.value_counts + other.value_counts,
            value_codes=codes.astype(np.int64),
            value_code_counts=np.bincount(
                where, weights=weights, minlength=codes.size
            ).astype(np.float64),
            value_zero=self.value_zero + other.value_zero,
            value_min=np.minimum(self.value_min, other.value_min),
            value_max=np.maximum(self.value_max, other.value_max),
            channel_users=union(self.channel_users, other.channel_users),
            fingerprint_counts=self.fingerprint_counts + other.fingerprint_counts,
            fingerprint_users=union(self.fingerprint_users, other.fingerprint_users),
            fingerprint_first=first,
            thresholds=self.thresholds,
            above=self.above + other.above,
        )
