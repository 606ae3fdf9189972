"""One batch of events into its minute windows and the actor states it changes.

Per plan metric, what the bucket sums hold (per hashed user bucket):

============== ============================== ==========================================
kind           numerator                      denominator
============== ============================== ==========================================
ratio          events named `numerator`       events named `denominator`
share_of_users actors with the event, first   actors exposed for the first time in the
               time in the scope              scope (users are the unit)
count          events                         first-time exposed actors
mean           sum of the value               events with a value
quantile       sum of the value (+ DDSketch)  events with a value
share_above    events with a value above the  events with a value
               metric's `threshold`
unique_actors  actors with the event, first   first-time exposed actors (+ distinct
               time in the scope              actors of the window, HyperLogLog)
============== ============================== ==========================================

Rules:

- Exposures decide the lane an actor's outcomes count under (the latest exposure
  wins); within a batch, exposures are applied before outcomes. Outcomes of actors
  never exposed to the flag are counted as `unattributed` and dropped.
- A plan metric's `where` rules (route, device, status, attributes) are applied
  before aggregation. They are evaluated once per distinct event *profile* (name,
  route, device, status, attributes), not per event: that, and doing the sums with
  numpy over columns, is what keeps ingest above 100,000 events/s.
- A request counts as `name` and, if failed, also as `<name>_failed`.
- A metric's value `latency_ms` (or `status`) reads the request's field; for
  business events the attribute of that name if numeric, else the event's `value`.
- With the receiver's clock (`received_at`), events outside [received_at − max_age,
  received_at + max_skew] are refused (`out_of_window`): memory stays bounded
  whatever times a sender makes up. Values that parsing would refuse (events built
  in code skip it) are refused as `invalid`, never raised.

`BatchIngest.aggregate` is pure: it reads the states of the batch's actors with
**one** call of the `lookup` it is given (see `stats.scope_state`), and returns the
batch's windows, the states it changed and its counts. It changes nothing else
(its caches of event profiles and actor hashes never change a result), so a caller
that fails after it has lost nothing. Applying a result, i.e. merging its windows,
writing its states and recording the batch key, all together or not at all, is the
caller's part: `stats.ingest.WindowIngest` in memory, `store.WindowStore.ingest` in
one transaction.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Sequence
from typing import TypedDict

import numpy as np
import numpy.typing as npt

from flagramp.core.errors import StatsError
from flagramp.core.event_parsing import MAX_CLOCK_SKEW, MAX_EVENT_AGE
from flagramp.core.events import BusinessEvent, Event, Exposure, RequestOutcome
from flagramp.core.flags.segments import Segment
from flagramp.core.metric_kinds import MetricKind
from flagramp.core.types import PropertyValue
from flagramp.stats._batch import BatchWork
from flagramp.stats._ingest_state import MAX_PROFILES, Profile
from flagramp.stats.buckets import DEFAULT_BUCKETS, bucket_of
from flagramp.stats.ingest_values import (
    FIRST_TIME_KINDS,
    VALUE_KINDS,
    BatchResult,
    IngestCounts,
    MetricSpec,
)
from flagramp.stats.scope_state import ActorLookup, MarkLayout
from flagramp.stats.sketches import (
    DEFAULT_EXACT_CAP,
    DEFAULT_RELATIVE_ACCURACY,
    actor_hash,
)
from flagramp.stats.windows import DEFAULT_BREAKDOWN_CAP, DEFAULT_FINGERPRINT_CAP

__all__ = [
    "FIRST_TIME_KINDS",
    "BatchIngest",
    "BatchResult",
    "IngestCounts",
    "IngestOptions",
    "MetricSpec",
]

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

#: Actor ids whose bucket and hash are cached across batches, at most.
MAX_CACHED_ACTORS = 50_000


class IngestOptions(TypedDict, total=False):
    """`BatchIngest`'s keyword options (defaults there), for what builds one."""

    environment: str
    buckets: int
    exact_cap: int
    relative_accuracy: float
    samples: int
    fingerprint_cap: int
    breakdown_cap: int
    max_age: dt.timedelta
    max_skew: dt.timedelta


class BatchIngest:
    """Turns batches of one scope (run string and flag) into windows; pure.

    Not thread-safe (its caches are plain dicts): one per thread.
    """

    def __init__(
        self,
        run: str,
        flag: str,
        metrics: Iterable[MetricSpec],
        *,
        environment: str = "production",
        buckets: int = DEFAULT_BUCKETS,
        exact_cap: int = DEFAULT_EXACT_CAP,
        relative_accuracy: float = DEFAULT_RELATIVE_ACCURACY,
        samples: int = 3,
        fingerprint_cap: int = DEFAULT_FINGERPRINT_CAP,
        breakdown_cap: int = DEFAULT_BREAKDOWN_CAP,
        max_age: dt.timedelta = MAX_EVENT_AGE,
        max_skew: dt.timedelta = MAX_CLOCK_SKEW,
    ) -> None:
        self.run, self.flag, self.environment = run, flag, environment
        self.specs = tuple(metrics)
        if len({s.name for s in self.specs}) != len(self.specs):
            raise StatsError("metric names must be unique")
        for spec in self.specs:
            if spec.kind in VALUE_KINDS and spec.value is None:
                raise StatsError(f"metric {spec.name!r} ({spec.kind}) needs a value")
            if spec.kind is MetricKind.SHARE_ABOVE and (
                spec.value is None or spec.threshold is None
            ):
                raise StatsError(
                    f"metric {spec.name!r} (share_above) needs a value and a threshold"
                )
        if min(fingerprint_cap, breakdown_cap, samples) < 1:
            raise StatsError("caps and samples are at least 1")
        self.buckets = buckets
        self.exact_cap = exact_cap
        self.relative_accuracy = relative_accuracy
        self.samples = samples
        self.fingerprint_cap = fingerprint_cap
        self.breakdown_cap = breakdown_cap
        self.max_age, self.max_skew = max_age, max_skew
        #: The first-time metrics, whose per-actor marks the scope keeps.
        self.first_time_metrics = tuple(
            s.name for s in self.specs if s.kind in FIRST_TIME_KINDS
        )
        MarkLayout().including(self.first_time_metrics)  # refuses too many
        self._filters = tuple(
            Segment.from_rules(s.name, s.where).compile() if s.where else None
            for s in self.specs
        )
        self.value_names = tuple(sorted({s.value for s in self.specs if s.value}))
        self._actor_info: dict[str, tuple[int, int]] = {}
        self._reset_profiles()

    def aggregate(
        self,
        events: Sequence[Event],
        lookup: ActorLookup,
        *,
        marks: MarkLayout | None = None,
        received_at: dt.datetime | None = None,
    ) -> BatchResult:
        """The batch's windows and changed actor states; changes nothing else.

        `lookup` is called once, with the hashes of every actor in the batch;
        `marks` is the scope's layout so far (None: a new scope).
        """
        layout = (marks or MarkLayout()).including(self.first_time_metrics)
        if len(self.profiles) >= MAX_PROFILES:
            # Rationale: profiles are cheap to rebuild; a flood of distinct routes
            # or attribute values must not grow memory without bound.
            self._reset_profiles()
        if len(self._actor_info) >= MAX_CACHED_ACTORS:
            self._actor_info.clear()
        info = self._actors_of(events)
        known = lookup([h for _, h in info.values()])
        batch = BatchWork(self, info, known, layout, received_at)
        exposures: list[Exposure] = []
        outcomes: list[RequestOutcome | BusinessEvent] = []
        for e in events:
            if isinstance(e, Exposure):
                exposures.append(e)
            else:
                outcomes.append(e)
        batch.add_exposures(exposures)
        batch.add_outcomes(outcomes)
        return batch.result(self._forget_after(events, received_at))

    # -- caches (never change a result) ----------------------------------------------

    def _reset_profiles(self) -> None:
        self.profiles: dict[tuple[object, ...], Profile] = {}
        self._profile_list: list[Profile] = []
        self._roles = np.zeros((0, len(self.specs), 2), dtype=bool)
        self._failed_of = np.zeros(0, dtype=np.float64)

    def _actors_of(self, events: Sequence[Event]) -> dict[str, tuple[int, int]]:
        """(bucket, hash) of every actor in the batch."""
        cache = self._actor_info
        out: dict[str, tuple[int, int]] = {}
        for actor in {e.actor for e in events}:
            found = cache.get(actor)
            if found is None:
                found = cache[actor] = (
                    bucket_of(actor, self.buckets),
                    actor_hash(actor),
                )
            out[actor] = found
        return out

    def _forget_after(
        self, events: Sequence[Event], received_at: dt.datetime | None
    ) -> float:
        if received_at is None:
            return math.inf
        newest = max((e.at for e in events), default=received_at)
        return newest.timestamp() + self.max_age.total_seconds()

    def profile(self, e: RequestOutcome | BusinessEvent) -> Profile:
        """The (cached) profile of an outcome: which metrics it feeds."""
        if isinstance(e, RequestOutcome):
            failed = e.is_failed
            key: tuple[object, ...] = (e.name, e.route, e.device, e.status, failed)
            profile = self.profiles.get(key)
            if profile is None:
                names = (e.name, e.failed_name) if failed else (e.name,)
                props: dict[str, PropertyValue] = {
                    "name": e.name,
                    "route": e.route,
                    "device": e.device.value,
                    "status": e.status,
                    "status_class": e.status_class,
                }
                bk = (e.name, e.route, e.status_class, e.device.value)
                profile = self._new_profile(key, names, props, bk, failed)
            return profile
        key = (e.name, e.route, e.device, e.attributes)
        profile = self.profiles.get(key)
        if profile is None:
            props = {"name": e.name, "route": e.route, "device": e.device.value}
            props.update(e.attributes)
            bk = (e.name, e.route or "", "", e.device.value)
            profile = self._new_profile(key, (e.name,), props, bk, False)
        return profile

    def _new_profile(
        self,
        key: tuple[object, ...],
        names: tuple[str, ...],
        props: dict[str, PropertyValue],
        breakdown: tuple[str, str, str, str],
        failed: bool,
    ) -> Profile:
        roles = []
        for spec, check in zip(self.specs, self._filters, strict=True):
            ok = check is None or check(props)
            first = ok and spec.events[0] in names
            second = ok and len(spec.events) > 1 and spec.events[1] in names
            roles.append((first, second))
        profile = Profile(len(self._profile_list), tuple(roles), breakdown, failed)
        self.profiles[key] = profile
        self._profile_list.append(profile)
        return profile

    def role_table(self) -> npt.NDArray[np.bool_]:
        """Per profile: which metrics it feeds (rows added for new profiles)."""
        have = self._roles.shape[0]
        new = self._profile_list[have:]
        if new:
            rows = np.array([p.roles for p in new], dtype=bool).reshape(
                len(new), len(self.specs), 2
            )
            self._roles = np.concatenate([self._roles, rows])
            failed = np.array([p.failed for p in new], dtype=np.float64)
            self._failed_of = np.concatenate([self._failed_of, failed])
        return self._roles

    def failed_of(self, profiles: IntArray) -> FloatArray:
        """1.0 for each profile index whose events failed (after `role_table`)."""
        return self._failed_of[profiles]

    def profile_at(self, index: int) -> Profile:
        """The profile with this index."""
        return self._profile_list[index]

    @property
    def profile_count(self) -> int:
        """How many profiles are cached (their indices are 0..count-1)."""
        return len(self._profile_list)
