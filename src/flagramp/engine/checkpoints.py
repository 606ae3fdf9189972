"""A go-live checkpoint computed from windows: pure, no I/O, no clock.

`compute_checkpoint(plan, checkpoint, windows_by_flag, start, end)` reads the
windows of [start, end) (epoch minutes; go live to the checkpoint) and returns a
`CheckpointResult`. The controller loads the windows (hour and day windows from
`store.WindowStore.compact` serve long horizons: a month is ~30 day windows per
lane, not 43,200 minutes) and calls this when a run is CHECKPOINT_DUE.

Choices, each a rule the result states:

- **Which flag.** Flags launched together share their users and each flag's
  windows count the same events of its exposed actors, so adding flags would
  count events twice. The metrics read one flag's windows: `flag` if given, else
  the first flag of the plan's last rollout phase (the launch go live completes),
  else the first flag with windows. Every flag's unique users are reported.
- **Which lanes.** After go live the feature's users are the ON lane and the
  allow-listed users (who had it all along); the holdback (OFF) is not the
  launched feature, so KPIs and query answers read ON + allow-listed. A metric
  over events with `actor: false` counts the whole environment: such events never
  reach a flag's windows, so its value comes from `environment_counts` (the
  controller's environment-level count) or is reported without data.
- **Windows at the edges.** A window overlapping [start, end) is taken whole
  (a compacted window cannot be split); `data_start`/`data_end` say what the data
  covers. First-time counts (users of a share, the denominator of a share) count
  from the ingest scope's start: pass the scope opened at go live.
- **Never invented.** A metric without events has no value (`no_data`), an
  external-query metric is read by its source, not here, and people's questions
  wait for their answer (`CheckpointResult.with_answer`, `answer_question`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace

from flagramp.core.plans import Checkpoint, Kpi, Plan, Question
from flagramp.core.plans.metrics import (
    PERCENT_KINDS,
    Metric,
    QuantileMetric,
    RatioMetric,
)
from flagramp.engine.checkpoint_result import (
    CheckpointError,
    CheckpointResult,
    ErrorType,
    KpiResult,
    KpiStatus,
    MetricValue,
    QuestionResult,
    QuestionStatus,
    SplitRow,
)
from flagramp.stats.sketches import DistinctActors
from flagramp.stats.window_parts import BreakdownCell, FingerprintStats
from flagramp.stats.windows import Lane, MetricAggregate, Window, merge_all

__all__ = [
    "FEATURE_LANES",
    "CheckpointError",
    "answer_question",
    "compute_checkpoint",
    "reference_flag",
]

#: The lanes that have the launched feature: randomised ON and allow-listed users.
FEATURE_LANES = (Lane.ON, Lane.ALLOW_LISTED)
# Breakdown key positions (name, route, status class, device) a split may read.
_SPLIT_FIELDS = {"route": 1, "status": 2, "status_class": 2, "device": 3}


def reference_flag(plan: Plan, windows_by_flag: Mapping[str, object]) -> str | None:
    """The flag whose windows a checkpoint's metrics read (see the module doc)."""
    phases = [phase for _, phase in plan.rollout_phases()]
    if phases:
        return phases[-1].flags[0]
    return next(iter(sorted(windows_by_flag)), None)


def compute_checkpoint(
    plan: Plan,
    checkpoint: Checkpoint,
    windows_by_flag: Mapping[str, Sequence[Window]],
    start_minute: int,
    end_minute: int,
    *,
    flag: str | None = None,
    last: bool | None = None,
    environment_counts: Mapping[str, float] | None = None,
) -> CheckpointResult:
    """The checkpoint's record over windows of [start_minute, end_minute).

    `last` says whether the plan's post-launch questions are asked here (default:
    when this is the plan's latest checkpoint). `environment_counts` gives the
    counts of metrics over actorless events. Raises CheckpointError for a plan
    without go live or an empty span.
    """
    if plan.go_live is None:
        raise CheckpointError("the plan has no go_live section", code="no_go_live")
    if end_minute <= start_minute:
        raise CheckpointError(
            f"a checkpoint needs start < end, not {start_minute}..{end_minute}",
            code="checkpoint_span",
        )
    go_live = plan.go_live
    if last is None:
        latest = max((c.after for c in go_live.checkpoints), default=checkpoint.after)
        last = checkpoint.after >= latest
    chosen = flag or reference_flag(plan, windows_by_flag)
    notes: list[str] = []
    inside = {
        f: tuple(w for w in ws if w.key.start < end_minute and w.key.end > start_minute)
        for f, ws in windows_by_flag.items()
    }
    lanes = _Lanes.of(inside.get(chosen, ()) if chosen else (), notes)
    if chosen is not None and not lanes.by_lane:
        notes.append(f"no windows of flag {chosen!r} in the checkpoint's span")
    reader = _Reader(plan, lanes, dict(environment_counts or {}))
    users_by_flag = tuple(
        (f, _users(_Lanes.of(ws, []), FEATURE_LANES))
        for f, ws in sorted(inside.items())
    )
    kpis = tuple(_kpi(k, reader) for k in go_live.kpis) if checkpoint.kpis else ()
    recorded = tuple(reader.value(m) for m in checkpoint.record.metrics)
    asked = checkpoint.record.questions + (go_live.questions if last else ())
    extent = [w.key for ws in inside.values() for w in ws]
    return CheckpointResult(
        checkpoint=checkpoint.name,
        after=checkpoint.after.text,
        start_minute=start_minute,
        end_minute=end_minute,
        data_start=min((k.start for k in extent), default=None),
        data_end=max((k.end for k in extent), default=None),
        flag=chosen,
        unique_users=_users(lanes, FEATURE_LANES),
        users_by_flag=users_by_flag,
        kpis=kpis,
        metrics=recorded,
        error_types=_error_types(lanes),
        questions=tuple(_question(q, reader) for q in asked),
        notes=tuple(notes),
    )


def answer_question(
    plan: Plan,
    result: CheckpointResult,
    text: str,
    answer: str,
    person: str,
    at: dt.datetime,
) -> CheckpointResult:
    """`result` with `person`'s answer, if `person` holds the question's role.

    Raises CheckpointError (`answer_refused`) when they do not, or when the
    question is answered by its query.
    """
    question = result.question(text)
    role = question.answered_by
    holders = plan.roles[role].people if role in plan.roles else ()
    if role is None or person not in holders:
        raise CheckpointError(
            f"{person} does not hold the role {role!r} that answers {text!r}",
            code="answer_refused",
        )
    return result.with_answer(text, answer, person, at)


# -- lanes and merged windows -----------------------------------------------------


class _Lanes:
    """A flag's windows merged per lane (several ingest scopes merge too)."""

    def __init__(self, by_lane: Mapping[Lane, Window]) -> None:
        self.by_lane = by_lane

    @classmethod
    def of(cls, windows: Iterable[Window], notes: list[str]) -> _Lanes:
        groups: dict[Lane, list[Window]] = {}
        for w in windows:
            groups.setdefault(w.key.lane, []).append(w)
        runs = {w.key.run for ws in groups.values() for w in ws}
        if len(runs) > 1:
            # Window.merge refuses to mix scopes; their first-time counts are each
            # relative to their own scope, so shares may count a user twice.
            notes.append(
                f"windows of {len(runs)} ingest scopes merged; first-time counts "
                "(shares of users) may count a user once per scope"
            )
            run = min(runs)
            groups = {
                lane: [replace(w, key=replace(w.key, run=run)) for w in ws]
                for lane, ws in groups.items()
            }
        return cls({lane: merge_all(ws) for lane, ws in groups.items()})

    def windows(self, lanes: Sequence[Lane]) -> list[Window]:
        return [self.by_lane[lane] for lane in lanes if lane in self.by_lane]

    def metric(self, name: str, lanes: Sequence[Lane]) -> MetricAggregate | None:
        parts = [w.metrics[name] for w in self.windows(lanes) if name in w.metrics]
        if not parts:
            return None
        out = parts[0]
        for part in parts[1:]:
            out = out.merge(part)
        return out

    def exposed(self, lanes: Sequence[Lane]) -> float:
        return sum(w.exposed.total_numerator for w in self.windows(lanes))

    def breakdown(self, lanes: Sequence[Lane]) -> dict[tuple[str, ...], BreakdownCell]:
        out: dict[tuple[str, ...], BreakdownCell] = {}
        for w in self.windows(lanes):
            for key, cell in w.breakdown.items():
                mine = out.get(key)
                out[key] = cell if mine is None else mine.merge(cell)
        return out


def _users(lanes: _Lanes, which: Sequence[Lane]) -> int:
    parts = [w.actors for w in lanes.windows(which)]
    return round(DistinctActors.union(parts).estimate()) if parts else 0


def _error_types(lanes: _Lanes) -> tuple[ErrorType, ...]:
    found: dict[str, list[FingerprintStats]] = {}
    for w in lanes.windows(FEATURE_LANES):
        for name, stats in w.fingerprints.items():
            found.setdefault(name, []).append(stats)
    merged = {n: FingerprintStats.merge_all(s) for n, s in found.items()}
    rows = [
        ErrorType(n, f.count, round(f.actors.estimate()), f.first_seen)
        for n, f in merged.items()
    ]
    return tuple(sorted(rows, key=lambda e: (-e.count, e.first_seen, e.fingerprint)))


# -- metric values ------------------------------------------------------------------


class _Reader:
    """Metric values of one checkpoint, by the plan's definitions."""

    def __init__(
        self, plan: Plan, lanes: _Lanes, environment_counts: dict[str, float]
    ) -> None:
        self.plan, self.lanes = plan, lanes
        self.environment_counts = environment_counts

    def value(self, name: str) -> MetricValue:
        metric = self.plan.metrics.get(name)
        if metric is None:
            raise CheckpointError(f"the plan has no metric {name!r}", code="no_metric")
        kind = metric.metric_kind.value
        unit = "%" if metric.metric_kind in PERCENT_KINDS else (metric.unit or "")
        if metric.source.kind != "pushed":
            return MetricValue(
                name,
                kind,
                None,
                unit,
                0.0,
                0.0,
                (),
                note=f"read from {metric.source.kind} by its source, not from windows",
            )
        if self._actorless(metric):
            return self._environment(name, kind, unit)
        lanes = tuple(lane.value for lane in FEATURE_LANES)
        agg = self.lanes.metric(name, FEATURE_LANES)
        if agg is None:
            return MetricValue(
                name, kind, None, unit, 0.0, 0.0, lanes, note="no events in the span"
            )
        num, den = agg.sums.total_numerator, agg.sums.total_denominator
        value = _point(metric, agg, num, den)
        split_on, split, split_note = self._split(metric)
        per_user = per_active = None
        if kind == "count":
            exposed = self.lanes.exposed(FEATURE_LANES)
            per_user = num / exposed if exposed else None
            active = self._active_users(name, metric)
            per_active = num / active if active else None
        notes = [
            n for n in (None if value is not None else "no events", split_note) if n
        ]
        return MetricValue(
            name,
            kind,
            value,
            unit,
            num,
            den,
            lanes,
            note="; ".join(notes) or None,
            per_user=per_user,
            per_active_user=per_active,
            split_on=split_on,
            split=split,
        )

    def _actorless(self, metric: Metric) -> bool:
        events = metric.event_names()
        decls = [self.plan.events.get(e) for e in events]
        return bool(decls) and all(d is not None and not d.actor for d in decls)

    def _environment(self, name: str, kind: str, unit: str) -> MetricValue:
        count = self.environment_counts.get(name)
        if count is None:
            return MetricValue(
                name,
                kind,
                None,
                unit,
                0.0,
                0.0,
                ("environment",),
                note="events without an actor are not in a flag's windows; "
                "no environment-level count was given",
            )
        return MetricValue(name, kind, count, unit, count, 0.0, ("environment",))

    def _active_users(self, name: str, metric: Metric) -> float | None:
        # A count's users: the plan's users metric over the same events and filters.
        for other, m in sorted(self.plan.metrics.items()):
            if other == name or m.metric_kind.value not in (
                "share_of_users",
                "unique_actors",
            ):
                continue
            if m.event_names() == metric.event_names() and m.where == metric.where:
                agg = self.lanes.metric(other, FEATURE_LANES)
                if agg is not None:
                    return agg.sums.total_numerator
        return None

    def _split(
        self, metric: Metric
    ) -> tuple[str | None, tuple[SplitRow, ...], str | None]:
        if not metric.split_by:
            return None, (), None
        field = metric.split_by[0]
        position = _SPLIT_FIELDS.get(field)
        if position is None:
            return field, (), f"windows keep no split by {field!r}"
        event = (
            metric.denominator
            if isinstance(metric, RatioMetric)
            else getattr(metric, "event", None)
        )
        totals: dict[str, float] = {}
        for key, cell in self.lanes.breakdown(FEATURE_LANES).items():
            if key[0] == event:
                label = key[position] or "(none)"
                totals[label] = totals.get(label, 0.0) + cell.count
        whole = sum(totals.values())
        rows = tuple(
            SplitRow(label, n, 100.0 * n / whole if whole else 0.0)
            for label, n in sorted(totals.items(), key=lambda kv: (-kv[1], kv[0]))
        )
        note = (
            f"split counts all {event} events (the metric's filters do not apply)"
            if metric.where
            else None
        )
        return field, rows, note


def _point(
    metric: Metric, agg: MetricAggregate, num: float, den: float
) -> float | None:
    kind = metric.metric_kind.value
    if isinstance(metric, QuantileMetric):
        sketch = agg.sketch
        if sketch is None or sketch.count == 0:
            return None
        return sketch.quantile(metric.q)
    if kind == "count":
        return num
    if kind == "unique_actors":
        if agg.actors is not None:
            return float(round(agg.actors.estimate()))
        return num
    if den == 0:
        return None
    scale = 100.0 if metric.metric_kind in PERCENT_KINDS else 1.0
    return scale * num / den


def _kpi(kpi: Kpi, reader: _Reader) -> KpiResult:
    actual = reader.value(kpi.metric)
    if actual.value is None:
        status = KpiStatus.NO_DATA
    elif kpi.below is not None:
        status = KpiStatus.MET if actual.value < kpi.below else KpiStatus.NOT_MET
    else:
        above = kpi.above if kpi.above is not None else 0.0
        status = KpiStatus.MET if actual.value > above else KpiStatus.NOT_MET
    return KpiResult(
        kpi.name, kpi.description, kpi.target(), kpi.below, kpi.above, actual, status
    )


def _question(question: Question, reader: _Reader) -> QuestionResult:
    follow = question.follow_up
    asked = QuestionResult(
        question.text,
        QuestionStatus.AWAITING,
        answered_by=question.answered_by,
        yes_no=question.is_yes_no,
        follow_up_text=None if follow is None else follow.text,
        follow_up_role=None if follow is None else follow.answered_by,
    )
    if question.query is None:
        return asked
    value = reader.value(question.query)
    status = QuestionStatus.NO_DATA if value.value is None else QuestionStatus.ANSWERED
    return replace(asked, status=status, query=question.query, value=value)
