"""Aggregation windows: one minute (or hour, day) of one run, flag and lane.

A window holds everything a decision or a report needs, and nothing raw:

- per plan metric, `BucketSums` per hashed user bucket (user-level variance that
  merges), plus a DDSketch (quantiles) or a distinct-actor count where the metric
  kind needs one (see `stats.ingest` for what numerator and denominator mean per kind);
- exposures: new actors and exposure events per bucket, and distinct exposed actors;
- a breakdown of events by (name, route, status class, device): seed 002's
  "requests grouped by status code";
- error fingerprints: count, distinct users, first seen, a few redacted samples.

Windows merge exactly and associatively (counts are integers; values are quantised
to 1/1024 so their float sums are exact too), so `compact` can turn minutes into
hours and days. `to_bytes`/`from_bytes` give the store's serialised form.

Bounded under floods: a window keeps at most `fingerprint_cap` fingerprints and
`breakdown_cap` breakdown rows. Which ones is decided by a stable hash of the name
(the lowest ranks are kept: a bottom-k sample), never by arrival order, so a
fingerprint kept in a merged window was kept in every part, and caps merge exactly
whatever the grouping. The fingerprints beyond the cap are counted together under
`OTHER_FINGERPRINTS` (count, distinct users, first seen, samples): a flood of new
fingerprints in treatment is then itself one new error class with many treatment
users, which the novelty rule sees like any fingerprint, so a flood cannot hide a
new class of errors (seed 003) by pushing it out of the window. Breakdown rows
beyond the cap fold into (OTHER, OTHER, status class, device) rows, so totals by
status class and device stay whole.
"""

from __future__ import annotations

import functools
import json
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import TypeVar

import numpy as np
import numpy.typing as npt

from flagramp.core.errors import StatsError
from flagramp.core.events import OTHER_FINGERPRINTS, Variant
from flagramp.core.metric_kinds import MetricKind
from flagramp.stats.buckets import BucketSums
from flagramp.stats.sketches import DistinctActors, JsonRecord, QuantileSketch
from flagramp.stats.window_parts import (
    DEFAULT_BREAKDOWN_CAP,
    DEFAULT_FINGERPRINT_CAP,
    OTHER,
    BreakdownCell,
    BreakdownKey,
    FingerprintStats,
    SampleEvent,
    breakdown_rank,
    cap_breakdown,
    cap_fingerprints,
    fingerprint_rank,
)

__all__ = [
    "DAY",
    "DEFAULT_BREAKDOWN_CAP",
    "DEFAULT_FINGERPRINT_CAP",
    "FORMAT",
    "HOUR",
    "OTHER",
    "OTHER_FINGERPRINTS",
    "QUANTUM",
    "BreakdownCell",
    "BreakdownKey",
    "FingerprintStats",
    "Lane",
    "MetricAggregate",
    "SampleEvent",
    "Window",
    "WindowKey",
    "breakdown_rank",
    "cap_breakdown",
    "cap_fingerprints",
    "compact",
    "fingerprint_rank",
    "from_bytes",
    "from_record",
    "merge_all",
    "quantise",
    "quantise_one",
    "to_bytes",
    "to_record",
]

FloatArray = npt.NDArray[np.float64]
_S = TypeVar("_S", DistinctActors, QuantileSketch)
_K = TypeVar("_K")
_V = TypeVar("_V", "MetricAggregate", "BreakdownCell", "FingerprintStats")

HOUR = 60
DAY = 1440

#: Values are rounded to multiples of 2^-10 before summing: float sums of such
#: values are exact (below 2^43), so merging windows in any order gives equal bits.
QUANTUM = 1024.0


def quantise(values: npt.ArrayLike) -> FloatArray:
    """Values rounded to 1/1024 (about a microsecond for latencies in ms)."""
    return np.round(np.asarray(values, dtype=np.float64) * QUANTUM) / QUANTUM


def quantise_one(value: float) -> float:
    """One value as `quantise` rounds it (both round half to even), without numpy."""
    return round(value * QUANTUM) / QUANTUM


class Lane(StrEnum):
    """Whose outcomes a window holds: each variant, and allow-listed actors apart."""

    ON = "on"
    OFF = "off"
    ALLOW_LISTED = "allow_listed"
    """UAT actors: not randomised, so never in a comparison nor the ratio check."""

    @classmethod
    def of(cls, variant: Variant, allow_listed: bool) -> Lane:
        """The lane of an exposure."""
        if allow_listed:
            return cls.ALLOW_LISTED
        return cls.ON if variant is Variant.ON else cls.OFF

    @property
    def is_compared(self) -> bool:
        """Whether windows of this lane may enter comparisons and the SRM check."""
        return self is not Lane.ALLOW_LISTED


@dataclass(frozen=True, slots=True)
class WindowKey:
    """Run, flag, lane and the minutes covered: [start, end) in epoch minutes."""

    run: str
    flag: str
    lane: Lane
    start: int
    end: int

    @property
    def span(self) -> int:
        """Minutes covered."""
        return self.end - self.start

    def covering(self, other: WindowKey) -> WindowKey:
        """The key of both windows merged; raises StatsError across runs or lanes."""
        if (self.run, self.flag, self.lane) != (other.run, other.flag, other.lane):
            raise StatsError(
                f"cannot merge windows of {self.run}/{self.flag}/{self.lane} "
                f"and {other.run}/{other.flag}/{other.lane}"
            )
        return replace(
            self, start=min(self.start, other.start), end=max(self.end, other.end)
        )


@dataclass(frozen=True, slots=True, eq=False)
class MetricAggregate:
    """One plan metric in one window: bucket sums, and a sketch if the kind needs it."""

    kind: MetricKind
    sums: BucketSums
    actors: DistinctActors | None = None
    sketch: QuantileSketch | None = None

    def merge(self, other: MetricAggregate) -> MetricAggregate:
        """Both windows' aggregate of this metric."""
        if other.kind is not self.kind:
            raise StatsError(f"cannot merge a {self.kind} with a {other.kind} metric")
        return MetricAggregate(
            self.kind,
            self.sums.merge(other.sums),
            _merge_opt(self.actors, other.actors),
            _merge_opt(self.sketch, other.sketch),
        )


def _merge_opt(a: _S | None, b: _S | None) -> _S | None:
    if a is None or b is None:
        return a if b is None else b
    return a.merge(b)


@dataclass(frozen=True, slots=True, eq=False)
class Window:
    """The aggregates of one window; `merge` and `compact` combine them exactly.

    `exposed.numerator` is actors exposed for the first time in the run (they add
    up to the run's distinct users per lane), `exposed.denominator` exposure events;
    `actors` counts the distinct exposed actors of this window alone.
    `fingerprints` holds at most `fingerprint_cap` names plus OTHER_FINGERPRINTS,
    `breakdown` at most `breakdown_cap` rows plus the folded OTHER rows.
    """

    key: WindowKey
    exposed: BucketSums
    actors: DistinctActors
    metrics: Mapping[str, MetricAggregate]
    breakdown: Mapping[BreakdownKey, BreakdownCell]
    fingerprints: Mapping[str, FingerprintStats]
    fingerprint_cap: int = DEFAULT_FINGERPRINT_CAP
    breakdown_cap: int = DEFAULT_BREAKDOWN_CAP

    @classmethod
    def empty(cls, key: WindowKey, buckets: int) -> Window:
        """A window with no data."""
        return cls(key, BucketSums.zeros(buckets), DistinctActors(), {}, {}, {})

    @property
    def fingerprints_overflowed(self) -> bool:
        """Whether some fingerprints were counted under OTHER_FINGERPRINTS."""
        return OTHER_FINGERPRINTS in self.fingerprints

    def merge(self, other: Window) -> Window:
        """Both windows as one; raises StatsError across runs, flags, lanes or caps."""
        caps = (self.fingerprint_cap, self.breakdown_cap)
        if (other.fingerprint_cap, other.breakdown_cap) != caps:
            raise StatsError("cannot merge windows with different caps")
        return Window(
            self.key.covering(other.key),
            self.exposed.merge(other.exposed),
            self.actors.merge(other.actors),
            _merge_maps(self.metrics, other.metrics),
            cap_breakdown(_merge_maps(self.breakdown, other.breakdown), caps[1]),
            cap_fingerprints(
                _merge_maps(self.fingerprints, other.fingerprints), caps[0]
            ),
            *caps,
        )

    def same_as(self, other: Window) -> bool:
        """Whether both windows hold the same aggregates.

        Compares the records, with distinct-actor counts compared by what they
        hold (`DistinctActors.same_as`), not by their HyperLogLog bytes: a sparse
        sketch's bytes depend on the order its actors were merged in.
        """
        mine, theirs = to_record(self), to_record(other)
        return _without_hll(mine) == _without_hll(theirs) and all(
            a.same_as(b)
            for a, b in zip(
                _distinct_counts(self), _distinct_counts(other), strict=False
            )
        )


def _distinct_counts(window: Window) -> list[DistinctActors]:
    out = [window.actors]
    out += [m.actors for _, m in sorted(window.metrics.items()) if m.actors]
    out += [f.actors for _, f in sorted(window.fingerprints.items())]
    return out


def _without_hll(record: JsonRecord) -> JsonRecord:
    def strip(actors: object) -> object:
        return {**actors, "hll": None} if isinstance(actors, dict) else actors

    out = dict(record)
    out["actors"] = strip(record["actors"])
    for group in ("metrics", "fingerprints"):
        items = record[group]
        assert isinstance(items, dict)
        out[group] = {k: {**v, "actors": strip(v["actors"])} for k, v in items.items()}
    return out


def _merge_maps(a: Mapping[_K, _V], b: Mapping[_K, _V]) -> dict[_K, _V]:
    merged = dict(a)
    for key, value in b.items():
        mine = merged.get(key)
        merged[key] = value if mine is None else mine.merge(value)
    return merged


def merge_all(windows: Iterable[Window]) -> Window:
    """All windows merged into one; raises StatsError for none or mixed keys."""
    items = list(windows)
    if not items:
        raise StatsError("no windows to merge")
    return functools.reduce(Window.merge, items)


def compact(windows: Iterable[Window], span: int) -> tuple[Window, ...]:
    """Windows regrouped into aligned `span`-minute windows (HOUR, DAY).

    Each result covers [k·span, (k+1)·span); a window that straddles such a
    boundary cannot be split and raises StatsError.
    """
    if span < 1:
        raise StatsError("a compaction span is at least one minute")
    groups: dict[tuple[str, str, Lane, int], list[Window]] = {}
    for window in windows:
        k = window.key
        start = k.start - k.start % span
        if k.end > start + span:
            raise StatsError(
                f"window [{k.start}, {k.end}) does not fit a {span}-minute window"
            )
        groups.setdefault((k.run, k.flag, k.lane, start), []).append(window)
    out = []
    for (_, _, _, start), items in sorted(groups.items()):
        merged = merge_all(items)
        out.append(
            replace(merged, key=replace(merged.key, start=start, end=start + span))
        )
    return tuple(out)


# -- serialisation ------------------------------------------------------------------

#: Bumped when the record layout changes; readers refuse versions they do not know.
#: Format 2 added the caps; format 1 records read with the default caps.
FORMAT = 2
_FORMATS = frozenset({1, 2})


def to_record(window: Window) -> JsonRecord:
    """The window as JSON-able data; bucket arrays are sparse (non-zero buckets)."""
    k = window.key
    return {
        "format": FORMAT,
        "key": {
            "run": k.run,
            "flag": k.flag,
            "lane": k.lane.value,
            "start": k.start,
            "end": k.end,
        },
        "exposed": _sums_record(window.exposed),
        "actors": window.actors.to_record(),
        "metrics": {
            name: {
                "kind": m.kind.value,
                "sums": _sums_record(m.sums),
                "actors": None if m.actors is None else m.actors.to_record(),
                "sketch": None if m.sketch is None else m.sketch.to_record(),
            }
            for name, m in sorted(window.metrics.items())
        },
        "breakdown": [
            [*key, cell.count, cell.failed, cell.value_sum]
            for key, cell in sorted(window.breakdown.items())
        ],
        "fingerprints": {
            name: {
                "count": f.count,
                "actors": f.actors.to_record(),
                "first_seen": f.first_seen,
                "cap": f.cap,
                "samples": [
                    [s.at, s.actor_tag, s.route, s.status, s.latency_ms, s.device]
                    for s in f.samples
                ],
            }
            for name, f in sorted(window.fingerprints.items())
        },
        "fingerprint_cap": window.fingerprint_cap,
        "breakdown_cap": window.breakdown_cap,
    }


def from_record(record: Mapping[str, object]) -> Window:
    """The window `to_record` wrote; raises StatsError if it is malformed."""
    try:
        if record["format"] not in _FORMATS:
            raise ValueError(f"unknown window format {record['format']!r}")
        caps = (
            _int(record.get("fingerprint_cap", DEFAULT_FINGERPRINT_CAP)),
            _int(record.get("breakdown_cap", DEFAULT_BREAKDOWN_CAP)),
        )
        k = _map(record["key"])
        metrics = {
            name: _metric_from(_map(m)) for name, m in _map(record["metrics"]).items()
        }
        breakdown = {
            (_str(r[0]), _str(r[1]), _str(r[2]), _str(r[3])): BreakdownCell(
                _float(r[4]), _float(r[5]), _float(r[6])
            )
            for r in (_list(row) for row in _list(record["breakdown"]))
        }
        fingerprints = {
            name: _fingerprint_from(_map(f))
            for name, f in _map(record["fingerprints"]).items()
        }
        key = WindowKey(
            _str(k["run"]),
            _str(k["flag"]),
            Lane(_str(k["lane"])),
            _int(k["start"]),
            _int(k["end"]),
        )
        return Window(
            key,
            _sums_from(_map(record["exposed"])),
            DistinctActors.from_record(_map(record["actors"])),
            metrics,
            breakdown,
            fingerprints,
            *caps,
        )
    except (KeyError, TypeError, ValueError, IndexError, StatsError) as exc:
        raise StatsError(f"malformed window record: {exc}") from exc


def _metric_from(m: Mapping[str, object]) -> MetricAggregate:
    actors, sketch = m["actors"], m["sketch"]
    return MetricAggregate(
        MetricKind(_str(m["kind"])),
        _sums_from(_map(m["sums"])),
        None if actors is None else DistinctActors.from_record(_map(actors)),
        None if sketch is None else QuantileSketch.from_record(_map(sketch)),
    )


def _fingerprint_from(f: Mapping[str, object]) -> FingerprintStats:
    samples = tuple(
        SampleEvent(
            _float(s[0]), _str(s[1]), _str(s[2]), _int(s[3]), _float(s[4]), _str(s[5])
        )
        for s in (_list(row) for row in _list(f["samples"]))
    )
    return FingerprintStats(
        _int(f["count"]),
        DistinctActors.from_record(_map(f["actors"])),
        _float(f["first_seen"]),
        samples,
        _int(f["cap"]),
    )


def to_bytes(window: Window) -> bytes:
    """The window as compressed canonical JSON, for the store."""
    text = json.dumps(to_record(window), sort_keys=True, separators=(",", ":"))
    return zlib.compress(text.encode(), 6)


def from_bytes(data: bytes) -> Window:
    """The window `to_bytes` wrote; raises StatsError if it is damaged."""
    try:
        record = json.loads(zlib.decompress(data))
    except (zlib.error, ValueError) as exc:
        raise StatsError(f"damaged window bytes: {exc}") from exc
    return from_record(_map(record))


def _sums_record(sums: BucketSums) -> JsonRecord:
    index = np.flatnonzero((sums.numerator != 0) | (sums.denominator != 0))
    return {
        "buckets": sums.buckets,
        "index": index.tolist(),
        "numerator": sums.numerator[index].tolist(),
        "denominator": sums.denominator[index].tolist(),
    }


def _sums_from(record: Mapping[str, object]) -> BucketSums:
    buckets = _int(record["buckets"])
    index = np.asarray(_list(record["index"]), dtype=np.int64)
    numerator = np.zeros(buckets)
    denominator = np.zeros(buckets)
    numerator[index] = np.asarray(_list(record["numerator"]), dtype=np.float64)
    denominator[index] = np.asarray(_list(record["denominator"]), dtype=np.float64)
    return BucketSums(numerator, denominator)


def _map(value: object) -> dict[str, object]:
    if not isinstance(value, dict):
        raise TypeError(f"expected an object, got {type(value).__name__}")
    return {str(k): v for k, v in value.items()}


def _list(value: object) -> list[object]:
    if not isinstance(value, list):
        raise TypeError(f"expected a list, got {type(value).__name__}")
    return value


def _str(value: object) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected a string, got {value!r}")
    return value


def _int(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"expected an integer, got {value!r}")
    return value


def _float(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"expected a number, got {value!r}")
    return float(value)
