"""A stage's windows into a `StageEvaluation`: every compiled check decided.

Which windows, which lanes:

- Several flags in one phase: the **first flag's** windows are evaluated. The
  flags of a phase launch together on the same users (`shared_users`: every flag
  buckets on the first flag's key), so one flag's lanes are the phase's arms;
  evaluating each flag would count the same users' outcomes several times and
  spend α once per flag. Without shared users the first flag is still the one
  read (the linter warns about such phases). `latest_data_minute` looks at every
  flag of the phase.
- Treatment is the randomised on lane; control the off lane. At a UAT stage
  (`allow_list_only`) treatment is the allow-listed lane: its checks are
  computed over the testers for people to see, and never act.
- Absolute criteria compare treatment with the limit (borrowing control's design
  effect when control has data: see `stats.guards`); relative-to-control compare
  on with off; relative-to-baseline compare treatment with `baselines[criterion]`
  (inconclusive, with a note, while none is given). Counts count treatment's
  events; environment-level counts count every lane plus `environment_counts`
  (events without an actor, which ingest attributes to no lane). New error
  classes tally every fingerprint's distinct users in on and off.

The windows must be the current stage attempt's ingest scope's (one scope per
attempt, `stats.scope_state`): users are its first-time exposures per lane, so a
scope spanning several stages would undercount later stages' control users and
make the sample-ratio check fire.

Pass each criterion's decision of the previous tick as `previous` (see
`previous_decisions`): a harm, once shown, stays shown (`evaluate_ratio_guard`).
Start a stage attempt with none.

A caller that evaluates the same stage again and again (the controller, every
tick) passes a `StageMemo` per run: what was computed from inputs that are the
very same again (window objects, bucket sums, arms) is reused, not recomputed.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence

from flagramp.engine.compiled import (
    CompiledCheck,
    CompiledCount,
    CompiledNovelty,
    CompiledRatio,
    CompiledStage,
    CompileError,
)
from flagramp.engine.evaluation import CheckResult, StageEvaluation
from flagramp.engine.evidence import LaneTotals, lane_totals
from flagramp.engine.fingerprints import fingerprint_evidence
from flagramp.engine.health import data_health, sample_ratio
from flagramp.stats import (
    ArmEstimate,
    Comparison,
    Evidence,
    FingerprintTally,
    GuardDecision,
    GuardOutcome,
    RatioGuard,
    RatioLook,
    arm_from_buckets,
    evaluate_count_limit,
    evaluate_novelty,
    evaluate_ratio_guard,
    ratio_look,
)
from flagramp.stats.buckets import BucketSums
from flagramp.stats.fingerprints import fingerprint_tallies
from flagramp.stats.windows import Lane, Window

__all__ = [
    "DEFAULT_GRACE_MINUTES",
    "StageMemo",
    "evaluate_stage",
    "previous_decisions",
]

#: Minutes without exposures or metric events before the data counts as missing.
DEFAULT_GRACE_MINUTES = 10

_NO_DATA = ArmEstimate(math.nan, math.nan, 0.0)

LookKey = tuple[RatioGuard, ArmEstimate, ArmEstimate | None]


@dataclasses.dataclass
class StageMemo:
    """What `evaluate_stage` computed at its last call for one run.

    Each part is kept with the inputs it was computed from, and reused only
    when those come again: the lane totals for the same window objects (which
    `store.windows.DecodedWindows` hands back for rows that did not change),
    an arm for the same bucket-sums object, a guard's look (`ratio_look`, its
    bisections) for an equal guard and equal arms. Each is a pure function of
    those inputs, so an evaluation with a memo equals one without, exactly;
    only the decisions of earlier looks (`previous`) are combined afresh.
    """

    windows: tuple[Window, ...] = ()
    wanted: frozenset[str] = frozenset()
    totals: Mapping[Lane, LaneTotals] | None = None
    arms: dict[tuple[Lane, str], tuple[BucketSums, ArmEstimate]] = dataclasses.field(
        default_factory=dict
    )
    looks: dict[str, tuple[LookKey, RatioLook]] = dataclasses.field(
        default_factory=dict
    )
    reused: int = 0
    """How many lane totals, arms and looks were reused (for benchmarks)."""

    def lane_totals(
        self, windows: tuple[Window, ...], wanted: frozenset[str]
    ) -> Mapping[Lane, LaneTotals]:
        """`evidence.lane_totals` of the windows, reused for the same objects."""
        same = (
            self.totals is not None
            and wanted == self.wanted
            and len(windows) == len(self.windows)
            and all(a is b for a, b in zip(windows, self.windows, strict=True))
        )
        if same and self.totals is not None:
            self.reused += 1
            return self.totals
        self.windows, self.wanted = windows, wanted
        self.totals = lane_totals(windows, metrics=wanted)
        self.arms.clear()
        return self.totals

    def arm(self, lane: Lane, metric: str, sums: BucketSums) -> ArmEstimate:
        """`arm_from_buckets(sums)`, reused for the same sums object."""
        hit = self.arms.get((lane, metric))
        if hit is not None and hit[0] is sums:
            self.reused += 1
            return hit[1]
        arm = arm_from_buckets(sums)
        self.arms[(lane, metric)] = (sums, arm)
        return arm

    def look(
        self,
        criterion: str,
        guard: RatioGuard,
        treatment: ArmEstimate,
        reference: ArmEstimate | None,
    ) -> RatioLook:
        """`ratio_look(guard, treatment, reference)`, reused for equal inputs."""
        key: LookKey = (guard, treatment, reference)
        hit = self.looks.get(criterion)
        if hit is not None and hit[0] == key:
            self.reused += 1
            return hit[1]
        look = ratio_look(guard, treatment, reference)
        self.looks[criterion] = (key, look)
        return look


def previous_decisions(
    evaluation: StageEvaluation | None,
) -> dict[str, GuardDecision]:
    """The decisions of an earlier evaluation of the same stage attempt, keyed by
    criterion, as `evaluate_stage(previous=...)` takes them."""
    if evaluation is None:
        return {}
    return {c.criterion: c.decision for c in evaluation.checks}


def evaluate_stage(
    stage: CompiledStage,
    windows: Mapping[str, Sequence[Window]],
    *,
    minute: int,
    started: int,
    observe: bool = False,
    grace_minutes: int = DEFAULT_GRACE_MINUTES,
    baselines: Mapping[str, ArmEstimate] | None = None,
    baseline_fingerprints: Mapping[str, int] | None = None,
    previous: Mapping[str, GuardDecision] | None = None,
    source_failures: Mapping[str, int] | None = None,
    source_problems: Mapping[str, str] | None = None,
    environment_counts: Mapping[str, int] | None = None,
    prior_counts: Mapping[str, int] | None = None,
    source_arms: Mapping[str, Mapping[Lane, ArmEstimate]] | None = None,
    memo: StageMemo | None = None,
) -> StageEvaluation:
    """Decide every check of `stage` over `windows` (flag -> the stage's windows
    from epoch minute `started` until `minute`).

    `baselines`: criterion -> the pre-run (or pre-stage) arm of its metric.
    `baseline_fingerprints`: fingerprint -> count before the run (novelty's F and
    what is not new). `previous`: criterion -> its decision at the last tick.
    `source_failures`: source name -> the epoch minute it began failing;
    `source_problems`: source name -> what is wrong when it is not
    "unavailable" (a source the controller was not configured with).
    `environment_counts`: count metric -> events without an actor in the stage.
    `prior_counts`: count criterion -> its count in earlier attempts of the
    stage (for `after_step_back: keep`). `source_arms`: metric -> lane -> its
    arm over the stage from Prometheus or Datadog (`stats.arm_from_totals`),
    used instead of the windows for that metric. `memo`: the run's
    `StageMemo` (the result is the same with or without it). Windows outside
    [started, minute] are ignored. Never raises for missing or degenerate data.
    """
    first = stage.flags[0].flag if stage.flags else ""
    own = tuple(w for w in windows.get(first, ()) if _within(w, started, minute))
    wanted = frozenset(
        c.metric for c in stage.checks if not isinstance(c, CompiledNovelty)
    )
    totals = (
        lane_totals(own, metrics=wanted)
        if memo is None
        else memo.lane_totals(own, wanted)
    )
    treatment_lane = Lane.ALLOW_LISTED if stage.allow_list_only else Lane.ON
    treatment, control = totals.get(treatment_lane), totals.get(Lane.OFF)
    inputs = _Inputs(
        treatment_lane,
        treatment,
        totals,
        own,
        baselines or {},
        baseline_fingerprints or {},
        previous or {},
        environment_counts or {},
        prior_counts or {},
        source_arms or {},
        memo,
    )
    checks = tuple(
        CheckResult(
            criterion=check.criterion,
            metric=getattr(check, "metric", None),
            mode=check.mode,
            acts=check.acts and not observe,
            decision=_decide(check, inputs),
        )
        for check in stage.checks
    )
    srm = (
        (None, False)
        if stage.allow_list_only
        else sample_ratio(totals, stage.treatment_share)
    )
    # Metrics read from a source have no windows: its failures say its health.
    ratio_metrics = tuple(
        sorted(
            c.metric
            for c in stage.checks
            if isinstance(c, CompiledRatio) and c.metric not in inputs.source_arms
        )
    )
    health = data_health(
        totals,
        minute=minute,
        started=started,
        grace_minutes=grace_minutes,
        srm=srm,
        metrics=ratio_metrics,
        source_failures=source_failures or {},
        source_problems=source_problems,
    )
    latest = max(
        (
            w.key.end - 1
            for flag in stage.flags
            for w in windows.get(flag.flag, ())
            if _within(w, started, minute)
        ),
        default=None,
    )
    return StageEvaluation(
        minute=minute,
        checks=checks,
        treatment_users=_users(totals, Lane.ON),
        control_users=_users(totals, Lane.OFF),
        allow_listed_users=_users(totals, Lane.ALLOW_LISTED),
        requests=0 if treatment is None else treatment.requests,
        srm_p=srm[0],
        health=health,
        fingerprints=fingerprint_evidence(
            treatment, control, baseline_fingerprints or {}
        ),
        latest_data_minute=latest,
    )


def _within(window: Window, started: int, minute: int) -> bool:
    # Overlap, so that an hour or day window the stage began inside still counts.
    return window.key.end > started and window.key.start <= minute


def _users(totals: Mapping[Lane, LaneTotals], lane: Lane) -> int:
    t = totals.get(lane)
    return 0 if t is None else t.users


@dataclasses.dataclass(frozen=True, slots=True)
class _Inputs:
    treatment_lane: Lane
    treatment: LaneTotals | None
    totals: Mapping[Lane, LaneTotals]
    windows: Sequence[Window]
    baselines: Mapping[str, ArmEstimate]
    baseline_fingerprints: Mapping[str, int]
    previous: Mapping[str, GuardDecision]
    environment_counts: Mapping[str, int]
    prior_counts: Mapping[str, int]
    source_arms: Mapping[str, Mapping[Lane, ArmEstimate]]
    memo: StageMemo | None

    def arm(self, lane: Lane, metric: str) -> ArmEstimate:
        """The lane's arm of `metric`: from its source if it has one, else
        from the windows (no data: an empty arm the guards call inconclusive)."""
        external = self.source_arms.get(metric)
        if external is not None:
            return external.get(lane, _NO_DATA)
        totals = self.totals.get(lane)
        sums = None if totals is None else totals.metric(metric)
        if sums is None:
            return _NO_DATA
        if self.memo is not None:
            return self.memo.arm(lane, metric, sums)
        return arm_from_buckets(sums)


def _decide(check: CompiledCheck, inputs: _Inputs) -> GuardDecision:
    if isinstance(check, CompiledRatio):
        return _ratio(check, inputs)
    if isinstance(check, CompiledCount):
        return _count(check, inputs)
    return _novelty(check, inputs)


def _ratio(check: CompiledRatio, inputs: _Inputs) -> GuardDecision:
    treatment = inputs.arm(inputs.treatment_lane, check.metric)
    comparison = check.guard.comparison
    reference: ArmEstimate | None
    if comparison is Comparison.BASELINE:
        reference = inputs.baselines.get(check.criterion)
        if reference is None:
            return _inconclusive(
                check.guard, treatment, "no baseline measured for this criterion yet"
            )
    else:
        control = inputs.arm(Lane.OFF, check.metric)
        usable = control.size > 0 and math.isfinite(control.estimate)
        # An absolute limit only borrows control's design effect, when it has one.
        reference = control if comparison is Comparison.CONTROL or usable else None
    try:
        guard = check.guard_for(reference.estimate if reference else None)
    except CompileError as exc:
        return _inconclusive(check.guard, treatment, exc.detail)
    previous = inputs.previous.get(check.criterion)
    if previous is not None and previous.guard != guard.name:
        previous = None
    look = (
        None
        if inputs.memo is None
        else inputs.memo.look(check.criterion, guard, treatment, reference)
    )
    return evaluate_ratio_guard(guard, treatment, reference, previous, look=look)


def _inconclusive(guard: RatioGuard, arm: ArmEstimate, note: str) -> GuardDecision:
    return GuardDecision(
        guard=guard.name,
        outcome=GuardOutcome.INCONCLUSIVE,
        severity=guard.severity,
        evidence=Evidence(
            test=f"one-sided normal-mixture SPRT vs {guard.comparison.value}",
            estimate=arm.estimate,
            lower=-math.inf,
            upper=math.inf,
            treatment_size=arm.size,
            alpha=guard.alpha,
            notes=(note,),
            beta=guard.beta,
        ),
    )


def _count(check: CompiledCount, inputs: _Inputs) -> GuardDecision:
    lanes: Sequence[LaneTotals | None] = (
        list(inputs.totals.values()) if check.environment_level else [inputs.treatment]
    )
    count = sum(
        round(sums.total_numerator)
        for lane in lanes
        if lane is not None and (sums := lane.metric(check.metric)) is not None
    )
    if check.environment_level:
        count += inputs.environment_counts.get(check.metric, 0)
    if not check.resets_after_step_back:
        count += inputs.prior_counts.get(check.criterion, 0)
    decision = evaluate_count_limit(check.limit, count)
    if not check.environment_level:
        return decision
    # Events without an actor (contact-center calls) belong to no variant: the
    # whole environment's count during the stage is held to the limit.
    evidence = dataclasses.replace(
        decision.evidence,
        test="count limit per stage, environment-wide",
        notes=(
            *decision.evidence.notes,
            "events without an actor cannot be attributed to treatment or control:"
            " every one during the stage counts",
        ),
    )
    return dataclasses.replace(decision, evidence=evidence)


def _novelty(check: CompiledNovelty, inputs: _Inputs) -> GuardDecision:
    budget = check.budget(inputs.baseline_fingerprints)
    # The plan's floor on k: a fingerprint with fewer distinct treatment users
    # cannot count. Zeroing its users (rather than dropping it) keeps every
    # fingerprint's order, on which the α spent on later ones depends.
    tallies = [
        t
        if t.treatment_users >= check.min_users
        else FingerprintTally(t.fingerprint, 0, t.control_users, t.first_seen)
        for t in fingerprint_tallies(inputs.windows)
    ]
    decision = evaluate_novelty(
        budget,
        tallies,
        inputs.baseline_fingerprints.keys(),
        name=check.criterion,
        severity=check.severity,
    )
    if check.event is None:
        return decision
    note = (
        f"fingerprints of every request counted: windows do not record which "
        f"request ({check.event}) a fingerprint came from"
    )
    evidence = dataclasses.replace(
        decision.evidence, notes=(*decision.evidence.notes, note)
    )
    return dataclasses.replace(decision, evidence=evidence)
