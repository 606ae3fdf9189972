"""The two one-sided tests a guard runs, vectorised: "is it harmful?", "is it healthy?".

Let H be the harm: sign·(treatment − reference), reference 0 for an absolute limit,
sign −1 when lower is worse. A guard asks two questions of the same data:

- `Side.LOWER` tests "H ≤ b" and rejects it when the evidence says H > b: with
  b = margin this is **harmful**, and the largest rejected b is the lower bound of H;
- `Side.UPPER` tests "H ≥ b" and rejects it when the evidence says H < b: with
  b = margin + mde this is **healthy**, and the smallest rejected b is the upper bound.

Each is a one-sided normal-mixture SPRT (`stats.sequential`) of S against its
variance V under *its own* null boundary H = b. Getting that boundary right is the
whole point:

Variance at the boundary (proportions). Under H = b the rates are not free: with
control, p_T − p_C = sign·b, and both are estimated by pooling the arms,
p̃_C = (n_T·p̂_T + n_C·p̂_C − sign·b·n_T)/(n_T + n_C), p̃_T = p̃_C + sign·b (the
score test's restricted estimate, as Farrington and Manning use it). Then
V = φ·(p̃_T(1 − p̃_T)/n_T + p̃_C(1 − p̃_C)/n_C). Rationale: under the null the
pooled rate is uncorrelated with the difference p̂_T − p̂_C (their covariance is
(n_T·Var p̂_T − n_C·Var p̂_C)/N = 0 when the per-request variances agree), so V does
not shrink when control happens to read low. Issue 13's guard took the treatment's
variance at the *control's* rate and added the control's own plug-in variance: both
shrink together when control reads low, which is exactly when the difference reads
high; at 50 % treatment that cost 2.8 % false rollbacks (8.5 % at ICC 0.2) against
2.5 %. For a baseline or an absolute limit the reference is fixed: p̃_T = reference
+ sign·b, plus the baseline's variance (valid at every look: the baseline's error is
one fixed draw, and the latest estimate minus the baseline is then still sufficient
for H, so the likelihood ratio stays a martingale). The upper side evaluates the
variance at H = margin + mde, not at the mirror image of the lower side (issue 13
took p0 at reference − margin, clipped to 0.5/n: almost no variance, and "healthy"
in half the stages whose harm was exactly margin + mde).

φ = max(1, φ_T, φ_reference), the design effects with outliers winsorised
(`stats.moments`): the max keeps clustered traffic from looking independent, the
winsorising keeps one heavy user from inflating it for everyone.

Half an event, on the heavy side. For rare errors the rate of a small arm is skewed
right, so the difference's harm-side tail is heavier than the normal one when
treatment is the small arm, and its healthy-side tail when control is (a holdback at
95 %). The third cumulant of p̂_T − p̂_C is about p(1 − p)·((1 − 2p_T)/n_T² −
(1 − 2p_C)/n_C²), so the side it points to gets Yates' half-event correction,
0.5·φ·|(1 − 2p̃_T)/n_T − (1 − 2p̃_C)/n_C| (with a fixed reference
0.5·φ·(1 − 2p̃_T)/n_T), subtracted from S; the other side gets none. Calibrated by
bench/stats_sim.py, not derived: without it issue 13's guard stopped 2.8–3.1 % of
healthy 5 % stages at α = 2.5 %; applied alike to both arms and sides it stopped
0.1 % of healthy 95 % stages against 1.1 % at 5 % (1,000 stages each, prototype).

Each side uses the estimate that is conservative *for that side*: treatment with an
outlying harm-side bucket pulled in and control with an outlying opposite one for
the lower side, the reverse for the upper side. So a retry storm in treatment cannot
roll a stage back (nor hide a regression behind its variance), and one in control
cannot make a stage look healthy.

Means (proportion False) have no variance under the null; the flag changing nothing
means both arms share one per-unit variance, so each arm's is at least the pooled
one: V = max(u_T, ū)/n_T + max(u_C, ū)/n_C with u = variance·n. A treatment whose
values are all equal (30 users all rating CSAT 1) is then judged with the control's
spread instead of a variance of zero that could never fire.
"""

from __future__ import annotations

from enum import StrEnum

import numpy as np
import numpy.typing as npt

from flagramp.stats.moments import ArmMoments
from flagramp.stats.sequential import log_mixture_ratio

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


class Side(StrEnum):
    """Which one-sided question: harm beyond a boundary, or harm below it."""

    LOWER = "lower"
    """Tests "H ≤ b": rejected means H > b (harmful at b = margin)."""
    UPPER = "upper"
    """Tests "H ≥ b": rejected means H < b (healthy at b = margin + mde)."""

    @property
    def sign(self) -> float:
        """+1 for the lower side (evidence of more harm), −1 for the upper."""
        return 1.0 if self is Side.LOWER else -1.0


def _clip_rate(p: FloatArray, n: FloatArray) -> FloatArray:
    floor = 0.5 / np.maximum(n, 1.0)
    return np.asarray(np.clip(p, floor, 1.0 - floor), dtype=np.float64)


def _floor_one(*effects: FloatArray) -> FloatArray:
    # NaN (not computable) counts as 1, the independent case.
    out = np.ones_like(np.asarray(effects[0], dtype=np.float64))
    for e in effects:
        out = np.fmax(out, np.asarray(e, dtype=np.float64))
    return out


def excess_and_variance(
    side: Side,
    boundary: ArrayLike,
    treatment: ArmMoments,
    reference: ArmMoments | None,
    *,
    comparison: Comparison,
    sign: float,
    proportion: bool = True,
    null_variance: bool = True,
    continuity: bool = True,
) -> tuple[FloatArray, FloatArray]:
    """S (toward rejecting `side`'s null at `boundary`) and its variance V.

    `reference` is the control or baseline arm (None for an absolute limit). See the
    module docstring for the variance at the boundary, φ and the correction.
    """
    d = side.sign
    b = np.asarray(boundary, dtype=np.float64)
    t = treatment.pulled_in(d * sign)
    n_t = treatment.size
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if comparison is Comparison.ABSOLUTE or reference is None:
            r = np.zeros_like(t)
            n_r = np.full_like(t, np.inf)
            # An absolute limit ignores the reference's rate but borrows its design
            # effect: a small treatment underestimates its own when users cluster.
            phi = _floor_one(
                treatment.robust_design_effect,
                *(() if reference is None else (reference.robust_design_effect,)),
            )
            reference = None
        else:
            r = reference.pulled_in(-d * sign)
            n_r = reference.size
            phi = _floor_one(
                treatment.robust_design_effect, reference.robust_design_effect
            )
        excess = d * (sign * (t - r) - b)
        if not proportion:
            variance = _mean_variance(treatment, reference, comparison)
            skew = np.zeros_like(excess)
        else:
            if comparison is Comparison.CONTROL and reference is not None:
                total = n_t + n_r
                p_c = (n_t * t + n_r * r - sign * b * n_t) / total
                p_t = _clip_rate(p_c + sign * b, n_t)
                p_c = _clip_rate(p_c, n_r)
                null = phi * (p_t * (1 - p_t) / n_t + p_c * (1 - p_c) / n_r)
                skew = (1 - 2 * p_t) / n_t - (1 - 2 * p_c) / n_r
            else:
                p_t = _clip_rate(r + sign * b, n_t)
                fixed = 0.0 if reference is None else reference.robust_variance
                null = phi * p_t * (1 - p_t) / n_t + fixed
                skew = (1 - 2 * p_t) / n_t
            if null_variance:
                variance = null
            else:
                variance = treatment.robust_variance + (
                    0.0 if reference is None else reference.robust_variance
                )
        if proportion and continuity:
            # Half an event, on the side whose tail the skew makes heavy.
            excess = excess - 0.5 * phi * np.maximum(0.0, d * sign * skew)
    return (
        np.asarray(excess, dtype=np.float64),
        np.asarray(variance, dtype=np.float64),
    )


def _mean_variance(
    treatment: ArmMoments, reference: ArmMoments | None, comparison: Comparison
) -> FloatArray:
    n_t = treatment.size
    v_t = treatment.robust_variance
    if comparison is Comparison.ABSOLUTE or reference is None:
        return v_t
    u_t, u_r = v_t * n_t, reference.robust_variance * reference.size
    if comparison is Comparison.BASELINE:
        return np.fmax(u_t, u_r) / n_t + reference.robust_variance
    n_r = reference.size
    pooled = np.where(
        np.isfinite(u_r), (n_t * u_t + n_r * np.nan_to_num(u_r)) / (n_t + n_r), u_t
    )
    return np.asarray(
        np.fmax(u_t, pooled) / n_t + np.fmax(u_r, pooled) / n_r, dtype=np.float64
    )


def side_log_ratio(
    side: Side,
    boundary: ArrayLike,
    treatment: ArmMoments,
    reference: ArmMoments | None,
    *,
    tau2: float,
    comparison: Comparison,
    sign: float,
    proportion: bool = True,
    null_variance: bool = True,
    continuity: bool = True,
) -> FloatArray:
    """ln Λ of `side`'s test at `boundary`; −inf where the variance is not positive.

    Compare with ln(1/α) (harmful, lower side) or ln(1/β) (healthy, upper side).
    """
    s, v = excess_and_variance(
        side, boundary, treatment, reference, comparison=comparison, sign=sign,
        proportion=proportion, null_variance=null_variance, continuity=continuity,
    )  # fmt: skip
    usable = np.isfinite(s) & np.isfinite(v) & (v > 0)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        log_lr = log_mixture_ratio(
            np.where(usable, s, 0.0), np.where(usable, v, 1.0), tau2
        )
    return np.asarray(np.where(usable, log_lr, -np.inf), dtype=np.float64)
