"""Ratio guards: an always-valid one-sided test of a rate against a limit or reference.

A guard watches one ratio metric (error rate, abandon rate, mean CSAT) in treatment and
compares it with an absolute limit, with control, or with the pre-run baseline. Let H
be the harm: treatment − reference (or reference − treatment when lower is worse;
reference 0 for an absolute limit). The guard is

- harmful when the one-sided mixture SPRT of "H ≤ margin" crosses 1/α
  (equivalently the always-valid lower bound of H exceeds the margin);
- healthy when the always-valid upper bound of H is below margin + mde: the data rule
  out a harm as large as the smallest one the plan must catch;
- inconclusive otherwise. The engine decides what an inconclusive guard means at the
  end of a stage's hold (the plan's policy); the statistics do not pretend to know.

Variance under the null (proportions): at the boundary of the null the treatment rate
is p0 = reference + margin, so the treatment's variance is deff·p0(1 − p0)/n, with the
design effect deff = max(1, deff_treatment, deff_reference) from user buckets.
Rationale: it does not grow with the regression it is trying to detect (plug-in
variance does), which detects about 1.7× sooner; the max keeps one heavy user in
treatment from shrinking the variance. A half-event continuity correction,
0.5·deff/n, is subtracted from the excess: with ~1 expected error a minute the normal
approximation is too light in the right tail, and the correction restores the level
(bench/stats_sim.py measures it). Means use plug-in variances and no correction.

Allow-listed (UAT) users were not randomised: callers must leave them out of the bucket
sums they pass (the aggregation layer keeps them apart).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import numpy.typing as npt

from flagramp.core.errors import StatsError
from flagramp.core.severity import Severity
from flagramp.stats.decision import Evidence, GuardDecision, GuardOutcome
from flagramp.stats.estimates import ArmEstimate
from flagramp.stats.sequential import log_mixture_ratio, mixing_variance

FloatArray = npt.NDArray[np.float64]
ArrayLike = float | FloatArray


class Comparison(StrEnum):
    """What the treatment's rate is compared with."""

    ABSOLUTE = "absolute"
    CONTROL = "control"
    BASELINE = "baseline"


class Direction(StrEnum):
    """Which way is harm."""

    HIGHER_IS_WORSE = "higher_is_worse"
    LOWER_IS_WORSE = "lower_is_worse"

    @property
    def sign(self) -> float:
        """+1 when harm is an increase, −1 when it is a decrease."""
        return 1.0 if self is Direction.HIGHER_IS_WORSE else -1.0


@dataclass(frozen=True, slots=True)
class RatioGuard:
    """A guard spec, from one success criterion of the plan.

    `limit` is the absolute limit (ABSOLUTE: "error rate < 5 %" is 0.05) or the
    allowed margin over the reference (CONTROL/BASELINE: "≤ 0.5 pt above control" is
    0.005), as a rate. `mde` is the smallest harm the plan must catch (it tunes the
    mixture); `alpha` is this guard's share of the stage's α (see `stats.alpha`).
    `proportion` is False for means (CSAT), which have no variance under the null.
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

    def __post_init__(self) -> None:
        if not 0.0 < self.alpha < 1.0 or not self.mde > 0:
            raise StatsError("a guard needs 0 < alpha < 1 and mde > 0")

    @property
    def tau2(self) -> float:
        """The mixing variance, tuned to `mde` (see `sequential.mixing_variance`)."""
        return mixing_variance(self.mde, self.alpha)

    @property
    def margin(self) -> float:
        """The harm H the null hypothesis allows."""
        if self.comparison is Comparison.ABSOLUTE:
            return self.direction.sign * self.limit
        return self.limit


def excess_and_variance(
    harm: ArrayLike,
    reference: ArrayLike,
    treatment_size: ArrayLike,
    treatment_variance: ArrayLike,
    reference_variance: ArrayLike,
    deff: ArrayLike,
    *,
    margin: float,
    sign: float,
    proportion: bool = True,
    null_variance: bool = True,
    continuity: bool = True,
) -> tuple[FloatArray, FloatArray]:
    """The excess S = H − margin (− correction) and its variance V; vectorised.

    `harm` is H, `reference` the reference rate (0 for absolute limits). With
    `proportion` and `null_variance` the treatment's variance is taken at the null
    boundary p0 = reference + sign·margin, scaled by the design effect `deff`.
    """
    n = np.asarray(treatment_size, dtype=np.float64)
    d = np.asarray(deff, dtype=np.float64)
    excess = np.asarray(harm, dtype=np.float64) - margin
    if proportion and null_variance:
        floor = 0.5 / np.maximum(n, 1.0)
        p0 = np.clip(np.asarray(reference) + sign * margin, floor, 1.0 - floor)
        v_treatment = d * p0 * (1.0 - p0) / n
    else:
        v_treatment = np.asarray(treatment_variance, dtype=np.float64)
    if proportion and continuity:
        excess = excess - 0.5 * d / n
    return excess, v_treatment + np.asarray(reference_variance, dtype=np.float64)


@dataclass(frozen=True, slots=True)
class _Setup:
    harm: float
    reference: float
    reference_variance: float
    deff: float


def _setup(
    guard: RatioGuard, treatment: ArmEstimate, reference: ArmEstimate | None
) -> _Setup:
    sign = guard.direction.sign
    if guard.comparison is Comparison.ABSOLUTE:
        deff = max(1.0, treatment.design_effect)
        return _Setup(sign * treatment.estimate, 0.0, 0.0, deff)
    if reference is None or not reference.has_data:
        raise StatsError(f"guard {guard.name!r} needs {guard.comparison.value} data")
    deff = max(1.0, treatment.design_effect, reference.design_effect)
    return _Setup(
        sign * (treatment.estimate - reference.estimate),
        reference.estimate,
        reference.variance,
        deff,
    )


def _log_lr(
    guard: RatioGuard, s: _Setup, arm: ArmEstimate, harm: float, margin: float
) -> float:
    excess, variance = excess_and_variance(
        harm, s.reference, arm.size, arm.variance, s.reference_variance, s.deff,
        margin=margin, sign=guard.direction.sign, proportion=guard.proportion,
        null_variance=guard.null_variance, continuity=guard.continuity,
    )  # fmt: skip
    return float(log_mixture_ratio(excess, variance, guard.tau2))


def _bound(guard: RatioGuard, s: _Setup, arm: ArmEstimate, upper: bool) -> float:
    """The always-valid lower (or upper) bound of H, by bisection on the margin."""
    target = math.log(1.0 / guard.alpha)
    sd = math.sqrt(max(arm.variance, 0.0) + s.reference_variance) or 1.0 / arm.size

    def rejects(m: float) -> bool:
        # "H ≤ m" rejected (lower bound) or "H ≥ m" rejected (upper bound: mirror H).
        if upper:
            return _log_lr(guard, s, arm, -s.harm, -m) >= target
        return _log_lr(guard, s, arm, s.harm, m) >= target

    step = sd
    inside = s.harm
    outside = s.harm + step if upper else s.harm - step
    while not rejects(outside):
        inside, step = outside, step * 2.0
        outside = s.harm + step if upper else s.harm - step
        if step > 1e6:
            return math.inf if upper else -math.inf
    for _ in range(60):
        mid = 0.5 * (inside + outside)
        if rejects(mid):
            outside = mid
        else:
            inside = mid
    return outside


def evaluate_ratio_guard(
    guard: RatioGuard,
    treatment: ArmEstimate,
    reference: ArmEstimate | None = None,
    previous: GuardDecision | None = None,
) -> GuardDecision:
    """Decide one guard on the cumulative data of the stage so far.

    Pass the previous minute's decision as `previous`: the interval is intersected
    with it (an intersection of confidence sequences is one) and a harmful outcome
    stays harmful, so a decision never flips from harmful to healthy.
    Raises StatsError when a comparison lacks its reference data.
    """
    notes: list[str] = []
    if not treatment.per_user:
        notes.append(
            "per-request variance inflated by overdispersion"
            f" {treatment.design_effect:g} (no per-user data)"
        )
    if not treatment.has_data or (treatment.variance <= 0 and not guard.proportion):
        notes.append("no treatment data yet")
        unknown = (-math.inf, math.inf)
        return _decision(
            guard, GuardOutcome.INCONCLUSIVE, treatment, reference, math.nan, unknown,
            tuple(notes),
        )  # fmt: skip
    s = _setup(guard, treatment, reference)
    log_lr = _log_lr(guard, s, treatment, s.harm, guard.margin)
    low, high = _bound(guard, s, treatment, False), _bound(guard, s, treatment, True)
    if previous is not None:
        prev = _harm_interval(guard, previous.evidence)
        low, high = max(low, prev[0]), min(high, prev[1])
    harmful = log_lr >= math.log(1.0 / guard.alpha) or low > guard.margin
    if previous is not None and previous.is_harmful:
        harmful = True
        notes.append("harm was established at an earlier look")
    if harmful:
        outcome = GuardOutcome.HARMFUL
    elif high < guard.margin + guard.mde:
        outcome = GuardOutcome.HEALTHY
    else:
        outcome = GuardOutcome.INCONCLUSIVE
    return _decision(
        guard, outcome, treatment, reference, log_lr, (low, high), tuple(notes)
    )


def _harm_interval(guard: RatioGuard, e: Evidence) -> tuple[float, float]:
    # Evidence reports the compared quantity; map it back to the harm scale.
    lo, hi = e.lower, e.upper
    return (lo, hi) if guard.direction.sign > 0 else (-hi, -lo)


def _decision(
    guard: RatioGuard,
    outcome: GuardOutcome,
    treatment: ArmEstimate,
    reference: ArmEstimate | None,
    log_lr: float,
    harm: tuple[float, float],
    notes: tuple[str, ...],
) -> GuardDecision:
    lo, hi = harm if guard.direction.sign > 0 else (-harm[1], -harm[0])
    test = f"one-sided normal-mixture SPRT vs {guard.comparison.value}" + (
        " (variance under the null)" if guard.null_variance and guard.proportion else ""
    )
    absolute = guard.comparison is Comparison.ABSOLUTE
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
            reference=None if absolute or reference is None else reference.estimate,
            reference_size=None if absolute or reference is None else reference.size,
            statistic=log_lr,
            threshold=math.log(1.0 / guard.alpha),
            notes=notes,
        ),
    )
