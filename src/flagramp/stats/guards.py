"""Ratio guards: an always-valid decision on one rate against a limit or reference.

A guard watches one ratio metric (error rate, abandon rate, mean CSAT) in treatment and
compares it with an absolute limit, with control, or with the pre-run baseline. Let H
be the harm: treatment − reference (reference − treatment when lower is worse;
reference 0 for an absolute limit). Every minute, on the stage's cumulative data, the
guard is

- **harmful** when the one-sided mixture SPRT rejects "H ≤ margin" at level α
  (`stats.one_sided`, lower side); equivalently the always-valid lower bound of H
  exceeds the margin. Under "H ≤ margin" this happens at any look with probability
  ≤ α, however often the guard is checked;
- **healthy** when the mirror-image test rejects "H ≥ margin + mde" at level β (upper
  side, its variance at that boundary): the data rule out a harm as large as the
  smallest one the plan must catch. Under "H ≥ margin + mde" this happens at any look
  with probability ≤ β. β is the stage's, not split between criteria: a stage
  advances only when *every* acting guard is healthy, so a stage with one harmful
  criterion advances only if that guard says healthy, which has probability ≤ β;
- **inconclusive** otherwise, and whenever the data cannot support a decision (no
  treatment data, fewer than two user buckets in treatment, no reference data, a
  mean without spread). The engine decides what inconclusive means at the end of a
  hold (the plan's policy); the statistics do not pretend to know. Small or
  degenerate data never raises.

Pass the previous minute's decision as `previous`: the lower bound is intersected
with the earlier ones (a running maximum of an always-valid lower bound is one), so a
harmful outcome stays harmful and a decision never flips harmful → healthy. The upper
bound is each look's own: "healthy" at a later look is as valid, and an early fluke
is not carried to the end of the hold, when the engine acts on it. "Healthy, then
harmful" needs the lower bound to pass the margin, which under "H ≤ margin" has
probability ≤ α whatever happened before: healthy does not flip to harmful more often
than α allows.

An absolute limit may be given a `reference` too (the control arm, or the pre-run
window): its rate is ignored, its design effect is borrowed. Rationale: under heavy
clustering a small treatment underestimates its own (it rarely holds the few users
who carry most errors), which makes "healthy" too easy (bench/stats_sim.py, ICC 0.2).

Allow-listed (UAT) users were not randomised: callers must leave them out of the bucket
sums they pass (the aggregation layer keeps them apart).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from flagramp.core.errors import StatsError
from flagramp.core.severity import Severity
from flagramp.stats.decision import Evidence, GuardDecision, GuardOutcome
from flagramp.stats.estimates import ArmEstimate
from flagramp.stats.moments import ArmMoments
from flagramp.stats.one_sided import (
    Comparison,
    Direction,
    Side,
    excess_and_variance,
    side_log_ratio,
)
from flagramp.stats.sequential import mixing_variance

__all__ = [
    "Comparison",
    "Direction",
    "RatioGuard",
    "RatioLook",
    "evaluate_ratio_guard",
    "ratio_look",
]

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

#: Halvings of a bound's bracket (far past a float's precision at any scale).
BISECTIONS = 60
#: Halvings answered by one vectorised call (63 boundaries at once).
TREE_LEVELS = 6


@dataclass(frozen=True, slots=True)
class RatioGuard:
    """A guard spec, from one success criterion of the plan.

    `limit` is the absolute limit (ABSOLUTE: "error rate < 5 %" is 0.05) or the
    allowed margin over the reference (CONTROL/BASELINE: "≤ 0.5 pt above control" is
    0.005), as a rate. `mde` is the smallest harm the plan must catch (it tunes the
    mixtures and sets the "healthy" boundary margin + mde); `alpha` is this guard's
    share of the stage's α (see `stats.alpha`), the error "harmful" may make; `beta`
    the stage's β, the error "healthy" may make. `proportion` is False for means
    (CSAT). `null_variance` and `continuity` switch off the variance at the boundary
    and the half-event correction (for comparisons in the benchmark).
    """

    name: str
    comparison: Comparison
    limit: float
    mde: float
    alpha: float
    severity: Severity = Severity.HIGH
    direction: Direction = Direction.HIGHER_IS_WORSE
    proportion: bool = True
    null_variance: bool = True
    continuity: bool = True
    beta: float = 0.1

    def __post_init__(self) -> None:
        for field, value in (("alpha", self.alpha), ("beta", self.beta)):
            if not 0.0 < value < 1.0:
                raise StatsError(f"guard {self.name!r}: {field} must be in (0, 1)")
        if not (self.mde > 0 and math.isfinite(self.mde)):
            raise StatsError(f"guard {self.name!r}: mde must be a positive number")
        if not math.isfinite(self.limit):
            raise StatsError(f"guard {self.name!r}: limit must be a finite number")

    @property
    def tau2(self) -> float:
        """The harm test's mixing variance, tuned to `mde` at `alpha`."""
        return mixing_variance(self.mde, self.alpha)

    @property
    def healthy_tau2(self) -> float:
        """The healthy test's mixing variance, tuned to `mde` at `beta`."""
        return mixing_variance(self.mde, self.beta)

    @property
    def margin(self) -> float:
        """The harm H the null hypothesis allows."""
        if self.comparison is Comparison.ABSOLUTE:
            return self.direction.sign * self.limit
        return self.limit


def _usable(arm: ArmEstimate) -> bool:
    return arm.size > 0 and math.isfinite(arm.estimate)


def _missing_data(
    guard: RatioGuard, treatment: ArmEstimate, reference: ArmEstimate | None
) -> str | None:
    # Why no decision can be made from these arms, or None.
    if not (treatment.size > 0 and math.isfinite(treatment.estimate)):
        return "no treatment data yet"
    if not treatment.has_variance:
        return "fewer than two user buckets in treatment: too few users to judge"
    if reference is None:
        return None
    if not _usable(reference):
        return f"no {guard.comparison.value} data yet"
    return None


class _Test:
    """The guard's two one-sided tests on one minute's arms."""

    def __init__(
        self, guard: RatioGuard, treatment: ArmMoments, reference: ArmMoments | None
    ) -> None:
        self.guard = guard
        self.treatment = treatment
        self.reference = reference

    def log_ratio(self, side: Side, boundary: float) -> float:
        g = self.guard
        return float(
            side_log_ratio(
                side, boundary, self.treatment, self.reference,
                tau2=g.tau2 if side is Side.LOWER else g.healthy_tau2,
                comparison=g.comparison, sign=g.direction.sign,
                proportion=g.proportion, null_variance=g.null_variance,
                continuity=g.continuity,
            )
        )  # fmt: skip

    def rejects(self, side: Side, boundary: float) -> bool:
        level = self.guard.alpha if side is Side.LOWER else self.guard.beta
        return self.log_ratio(side, boundary) >= math.log(1.0 / level)

    def rejects_all(self, side: Side, boundaries: FloatArray) -> BoolArray:
        """`rejects` at every boundary in one vectorised call (elementwise equal)."""
        g = self.guard
        level = g.alpha if side is Side.LOWER else g.beta
        ratios = side_log_ratio(
            side, boundaries, self.treatment, self.reference,
            tau2=g.tau2 if side is Side.LOWER else g.healthy_tau2,
            comparison=g.comparison, sign=g.direction.sign,
            proportion=g.proportion, null_variance=g.null_variance,
            continuity=g.continuity,
        )  # fmt: skip
        return np.asarray(ratios >= math.log(1.0 / level), dtype=np.bool_)

    def variance(self, side: Side, boundary: float) -> float:
        g = self.guard
        _, v = excess_and_variance(
            side, boundary, self.treatment, self.reference,
            comparison=g.comparison, sign=g.direction.sign, proportion=g.proportion,
            null_variance=g.null_variance, continuity=g.continuity,
        )  # fmt: skip
        return float(v)

    def bracket(self, side: Side) -> tuple[float, float] | None:
        """(inside, outside): a point the test need not reject and one it does,
        by doubling steps away from the estimate; None when there is none."""
        g, t, r = self.guard, self.treatment, self.reference
        d = side.sign
        own = float(t.pulled_in(d * g.direction.sign))
        ref = 0.0
        if r is not None and g.comparison is not Comparison.ABSOLUTE:
            ref = float(r.pulled_in(-d * g.direction.sign))
        inside = g.direction.sign * (own - ref)
        variance = self.variance(side, inside)
        if not (math.isfinite(inside) and math.isfinite(variance) and variance > 0):
            return None
        step = math.sqrt(variance)
        outside = inside - d * step
        while not self.rejects(side, outside):
            inside, step = outside, step * 2.0
            outside = inside - d * step
            if step > 1e6:
                return None
        return inside, outside

    def bound(self, side: Side) -> float:
        """The always-valid bound of H on `side`: `BISECTIONS` halvings of the
        bracket, `TREE_LEVELS` at a time.

        Rationale: the halvings are sequential (each midpoint depends on the
        last answer), which cost one numpy call each, 60 a side, and were most
        of a controller tick. Every midpoint the next `TREE_LEVELS` halvings
        could visit is known in advance (a binary tree of 2^k − 1 points), so
        one vectorised call answers them all and the walk down the tree picks
        the same midpoints, computed the same way, as the sequential loop
        (`bound_sequential`, kept for the test that compares the two).
        """
        found = self.bracket(side)
        if found is None:
            return -side.sign * math.inf
        inside, outside = found
        done = 0
        while done < BISECTIONS:
            levels = min(TREE_LEVELS, BISECTIONS - done)
            points = _midpoint_tree(inside, outside, levels)
            answers = self.rejects_all(side, np.asarray(points, dtype=np.float64))
            node = 0
            for _ in range(levels):
                mid = points[node]
                if answers[node]:
                    outside, node = mid, 2 * node + 2
                else:
                    inside, node = mid, 2 * node + 1
            done += levels
        return outside

    def bound_sequential(self, side: Side) -> float:
        """`bound` one halving at a time (the reference implementation)."""
        found = self.bracket(side)
        if found is None:
            return -side.sign * math.inf
        inside, outside = found
        for _ in range(BISECTIONS):
            mid = 0.5 * (inside + outside)
            if self.rejects(side, mid):
                outside = mid
            else:
                inside = mid
        return outside


def _midpoint_tree(inside: float, outside: float, levels: int) -> list[float]:
    """The midpoints bisection may visit in `levels` halvings of (inside,
    outside), as a heap: node i's children are 2i + 1 (the test did not reject
    node i: it becomes `inside`) and 2i + 2 (it did: it becomes `outside`)."""
    points = [0.0] * (2**levels - 1)
    ends = [(inside, outside)]
    for i in range(len(points)):
        lo, hi = ends[i]
        mid = 0.5 * (lo + hi)
        points[i] = mid
        ends.append((mid, hi))
        ends.append((lo, mid))
    return points


@dataclass(frozen=True, slots=True)
class RatioLook:
    """What one look's data alone say about a guard (no earlier look in it).

    A pure function of (guard, treatment, reference) (`ratio_look`): a caller
    that sees the same three again may keep it and skip the bisections, which
    are most of a guard's cost; `evaluate_ratio_guard(look=...)` then decides
    exactly as without it.
    """

    harm_statistic: float
    healthy_statistic: float
    low: float
    """The always-valid lower bound of the harm H at this look."""
    high: float
    notes: tuple[str, ...]


def ratio_look(
    guard: RatioGuard, treatment: ArmEstimate, reference: ArmEstimate | None = None
) -> RatioLook:
    """The tests of one look on the stage's cumulative arms (see `RatioLook`)."""
    absolute = guard.comparison is Comparison.ABSOLUTE
    notes: list[str] = []
    if not treatment.per_user:
        notes.append(
            "per-request variance inflated by overdispersion"
            f" {treatment.design_effect:g} (no per-user data)"
        )
    problem = _missing_data(guard, treatment, None if absolute else reference)
    # An absolute limit borrows only the reference's design effect, when it has one.
    ref = reference if reference is not None and _usable(reference) else None
    harm_lr = healthy_lr = math.nan
    low, high = -math.inf, math.inf
    if problem is not None:
        notes.append(problem)
    else:
        test = _Test(guard, treatment.moments(), None if ref is None else ref.moments())
        harm_lr = test.log_ratio(Side.LOWER, guard.margin)
        healthy_lr = test.log_ratio(Side.UPPER, guard.margin + guard.mde)
        if not (math.isfinite(harm_lr) or math.isfinite(healthy_lr)):
            notes.append("no spread in the data: the variance is unknown")
        else:
            low, high = test.bound(Side.LOWER), test.bound(Side.UPPER)
        notes.extend(_notes(treatment, ref))
    return RatioLook(harm_lr, healthy_lr, low, high, tuple(notes))


def evaluate_ratio_guard(
    guard: RatioGuard,
    treatment: ArmEstimate,
    reference: ArmEstimate | None = None,
    previous: GuardDecision | None = None,
    *,
    look: RatioLook | None = None,
) -> GuardDecision:
    """Decide one guard on the cumulative data of the stage so far.

    Pass the previous minute's decision (or `GuardDecision.from_record` of the stored
    one) as `previous`, and `look` when `ratio_look(guard, treatment, reference)`
    was computed already. Raises StatsError only for misuse: a comparison called
    without its reference arm, or a `previous` decision of another guard.
    """
    if guard.comparison is not Comparison.ABSOLUTE and reference is None:
        raise StatsError(f"guard {guard.name!r} needs {guard.comparison.value} data")
    if previous is not None and previous.guard != guard.name:
        raise StatsError(
            f"guard {guard.name!r} was passed the decision of {previous.guard!r}"
        )
    absolute = guard.comparison is Comparison.ABSOLUTE
    ref = reference if reference is not None and _usable(reference) else None
    if look is None:
        look = ratio_look(guard, treatment, reference)
    harm_lr, healthy_lr = look.harm_statistic, look.healthy_statistic
    low, high = look.low, look.high
    notes = list(look.notes)
    if previous is not None:
        # Only the lower bound is intersected: harm, once shown, stays shown. The
        # upper bound is this look's own (just as valid, and an early fluke of
        # "healthy" is not carried to the end of the hold).
        low = max(low, _harm_interval(guard, previous.evidence)[0])
    harmful = harm_lr >= math.log(1.0 / guard.alpha) or low > guard.margin
    if previous is not None and previous.is_harmful:
        harmful = True
        notes.append("harm was established at an earlier look")
    healthy = healthy_lr >= math.log(1.0 / guard.beta) or (
        high < guard.margin + guard.mde
    )
    if low > high:
        # Earlier looks' lower bound is above this look's upper one: the data
        # contradict each other (a shift during the stage, or the α-rare miss of
        # an always-valid bound). Neither bound can be trusted to call it healthy.
        notes.append("earlier looks' lower bound is above this look's upper bound")
        healthy, high = False, low
    if harmful:
        outcome = GuardOutcome.HARMFUL
    elif healthy:
        outcome = GuardOutcome.HEALTHY
    else:
        outcome = GuardOutcome.INCONCLUSIVE
    return _decision(
        guard, outcome, treatment, None if absolute else ref,
        (harm_lr, healthy_lr), (low, high), notes,
    )  # fmt: skip


def _notes(treatment: ArmEstimate, reference: ArmEstimate | None) -> list[str]:
    notes: list[str] = []
    for label, arm in (("treatment", treatment), ("reference", reference)):
        if arm is None or arm.robust_variance is None:
            continue
        if arm.variance > 2.0 * arm.robust_variance:
            notes.append(
                f"one user bucket carries most of the {label}'s spread"
                f" ({1 - arm.robust_variance / arm.variance:.0%}); the tests use it"
                " as an ordinary extreme user (winsorised)"
            )
    if reference is not None and not reference.has_variance:
        notes.append(
            "fewer than two user buckets in the reference: its variance follows"
            " the treatment's design effect"
        )
    return notes


def _harm_interval(guard: RatioGuard, e: Evidence) -> tuple[float, float]:
    # Evidence reports the compared quantity; map it back to the harm scale.
    lo, hi = e.lower, e.upper
    return (lo, hi) if guard.direction.sign > 0 else (-hi, -lo)


def _decision(
    guard: RatioGuard,
    outcome: GuardOutcome,
    treatment: ArmEstimate,
    reference: ArmEstimate | None,
    statistics: tuple[float, float],
    harm: tuple[float, float],
    notes: list[str],
) -> GuardDecision:
    lo, hi = harm if guard.direction.sign > 0 else (-harm[1], -harm[0])
    test = f"one-sided normal-mixture SPRT vs {guard.comparison.value}" + (
        " (variance at the null boundary)"
        if guard.null_variance and guard.proportion
        else ""
    )
    return GuardDecision(
        guard=guard.name,
        outcome=outcome,
        severity=guard.severity,
        evidence=Evidence(
            test=test,
            estimate=treatment.estimate,
            lower=lo,
            upper=hi,
            treatment_size=treatment.size,
            alpha=guard.alpha,
            reference=None if reference is None else reference.estimate,
            reference_size=None if reference is None else reference.size,
            statistic=statistics[0],
            threshold=math.log(1.0 / guard.alpha),
            notes=tuple(notes),
            beta=guard.beta,
            healthy_statistic=statistics[1],
            healthy_threshold=math.log(1.0 / guard.beta),
        ),
    )
