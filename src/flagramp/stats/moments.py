"""Arm moments from user buckets, vectorised: ratio, variance, and one user pulled in.

`ratio_moments` is the delta method over user buckets (the same formula as
`BucketSums.ratio_variance`, over the last axis); `design_effect` is the clustered
variance over the variance of independent requests, p(1 − p)/n. Guards and the
benchmark share these functions, so the benchmark measures the code that decides.

**One user cannot carry a guard** (issue 17). A user retrying one failing request 50
times lands in one bucket. Left as it is, that bucket moves the treatment's rate by
50/n and inflates the design effect for the rest of the stage (the benchmark's retry
storm: detection of a 1.5 % regression fell from 97 % to 39 %). So each arm is also
summarised with its most extreme bucket on each side pulled in *when it is an
outlier*: when its standardised residual (y − R·x)/√x is more than `OUTLIER_GAP`
times the next most extreme one (residuals about the arm's rate with the outliers
out: a few fixed-point rounds, since the outlier moves the rate itself).

- `high_pulled_in`: the ratio without an outlying highest bucket (as if its requests
  had failed at the rate of the others: its excess goes; ≤ the ratio);
  `low_pulled_in`: the same for the lowest bucket (≥ the ratio).
- `robust_variance` / `robust_design_effect`: with each outlier *winsorised* instead,
  to its neighbour's standardised residual: the variance that goes with a trimmed
  estimate (Tukey and McLaughlin 1963: a trimmed mean's variance is estimated from
  the winsorised values).

Why the guards stay valid. A one-sided bound pulls in only the extreme that would
make *it* too bold (the lower bound of the harm uses treatment's high side and
control's low side; the upper bound the opposite), so its estimate moves only in the
conservative direction. Without an outlier nothing changes, so ordinary traffic costs
no power (an always-on winsorisation to the neighbour cost about 8 % in detection
time in the benchmark). A bucket that dwarfs its neighbour cannot add its excess to
the harm, nor its spread to everyone's variance: a heavy user costs what an ordinary
user in its place would. The gap rule is a choice, not a derivation: validity does
not depend on it (any rule that only moves an estimate toward its own side's
conservative direction keeps the test valid); power and robustness do, and the
benchmark measures both. Two storms in one stage are not covered ("no single user",
not "no few users"); nor are external totals, which carry no users.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

#: Fewer active buckets than this: nothing is winsorised (with three, pulling in
#: both extremes would leave one bucket's spread to estimate everything).
MIN_BUCKETS_TO_WINSORISE = 4
#: A bucket whose standardised residual exceeds the next one's by this factor is an
#: outlier: for the estimate it is pulled in all the way, to the arm's rate (its
#: requests stay, its excess goes); for the variance, to its neighbour as usual.
OUTLIER_GAP = 3.0
#: Fixed-point rounds: the outlier moves the ratio the residuals are taken about.
_ROUNDS = 4


def ratio_moments(
    numerator: FloatArray, denominator: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Ratio, delta-method variance and denominator total, per row of bucket sums.

    Var(R) ≈ K/(K−1) · Σ_k (y_k − R x_k)² / X² over the K buckets with data; NaN
    ratio without data, NaN variance with fewer than two active buckets.
    """
    x = np.asarray(denominator, dtype=np.float64)
    y = np.asarray(numerator, dtype=np.float64)
    total = x.sum(axis=-1)
    active = np.count_nonzero(x, axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(total > 0, y.sum(axis=-1) / total, np.nan)
        resid = np.where(x > 0, y - np.nan_to_num(ratio)[..., None] * x, 0.0)
        variance = np.where(
            (active >= 2) & (total > 0),
            active
            / (active - 1)
            * np.einsum("...k,...k->...", resid, resid)
            / total**2,
            np.nan,
        )
    return ratio, variance, total


def design_effect(
    ratio: FloatArray, variance: FloatArray, size: FloatArray
) -> FloatArray:
    """Clustered variance over the independent-request variance p(1 − p)/n.

    1 where it cannot be computed (no events yet): the independent case.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        independent = ratio * (1.0 - ratio) / size
        deff = variance / independent
    return np.where(np.isfinite(deff) & (independent > 0), deff, 1.0)


@dataclass(frozen=True, slots=True)
class ArmMoments:
    """One arm's moments, per row (one stage each in the benchmark, 0-d in a guard).

    `variance` and `design_effect` are the plain delta-method ones (NaN / 1 when
    they cannot be computed); the `robust_` ones and the `pulled_in` estimates come
    from winsorising the most extreme bucket on each side (module docstring).
    """

    estimate: FloatArray
    size: FloatArray
    variance: FloatArray
    design_effect: FloatArray
    high_pulled_in: FloatArray
    low_pulled_in: FloatArray
    robust_variance: FloatArray
    robust_design_effect: FloatArray

    def pulled_in(self, direction: float) -> FloatArray:
        """The estimate with its extreme in `direction` pulled in (+1: the highest)."""
        return self.high_pulled_in if direction > 0 else self.low_pulled_in


def _second(z: FloatArray) -> FloatArray:
    # The second largest value along the last axis (the largest if there is one).
    return np.asarray(np.partition(z, -2, axis=-1)[..., -2], dtype=np.float64)


def _extreme(
    z: FloatArray,
    active: npt.NDArray[np.bool_],
    enough: npt.NDArray[np.bool_],
    sign: float,
) -> tuple[IntArray, npt.NDArray[np.bool_], FloatArray]:
    # The bucket most extreme on `sign`'s side, whether it is an outlier, and its
    # neighbour's (signed) standardised residual.
    ranked = np.where(active, sign * z, -np.inf)
    at = np.argmax(ranked, axis=-1)
    first, second = np.max(ranked, axis=-1), _second(ranked)
    outlier = enough & (first > 0) & (first > OUTLIER_GAP * second)
    return at, outlier, second


def bucket_moments(numerator: FloatArray, denominator: FloatArray) -> ArmMoments:
    """`ArmMoments` of per-bucket sums (last axis: buckets), outliers pulled in.

    Rows with fewer than `MIN_BUCKETS_TO_WINSORISE` active buckets keep their plain
    estimate and variance.
    """
    x = np.asarray(denominator, dtype=np.float64)
    y = np.asarray(numerator, dtype=np.float64)
    ratio, variance, size = ratio_moments(y, x)
    has = size > 0
    high = low = ratio
    y_spread = y
    if x.shape[-1] >= MIN_BUCKETS_TO_WINSORISE:
        high, low, y_spread = _pull_in(y, x, ratio, size)
    robust_ratio, robust_variance, _ = ratio_moments(y_spread, x)
    return ArmMoments(
        estimate=ratio,
        size=size,
        variance=variance,
        design_effect=design_effect(ratio, variance, size),
        high_pulled_in=np.where(has, high, np.nan),
        low_pulled_in=np.where(has, low, np.nan),
        robust_variance=robust_variance,
        robust_design_effect=design_effect(robust_ratio, robust_variance, size),
    )


def _pull_in(
    y: FloatArray, x: FloatArray, ratio: FloatArray, size: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray]:
    active = x > 0
    enough = np.count_nonzero(x, axis=-1) >= MIN_BUCKETS_TO_WINSORISE
    root = np.sqrt(x)
    index = np.indices(ratio.shape)
    total_y = y.sum(axis=-1)
    centre = np.nan_to_num(ratio)
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        for _ in range(_ROUNDS):
            z = (y - centre[..., None] * x) / np.where(active, root, 1.0)
            sides = [(s, *_extreme(z, active, enough, s)) for s in (1.0, -1.0)]
            out_y = sum(np.where(o, y[(*index, at)], 0.0) for _, at, o, _ in sides)
            out_x = sum(np.where(o, x[(*index, at)], 0.0) for _, at, o, _ in sides)
            # Residuals are taken about the rate of the rest: without the outliers.
            rest = np.where(size - out_x > 0, size - out_x, np.nan)
            centre = np.where(np.isfinite(rest), (total_y - out_y) / rest, centre)
        pulled: list[FloatArray] = []
        y_spread = y.copy()
        for sign, at, outlier, second in sides:
            cell = (*index, at)
            # Without the outlier: its requests count at the rate of the others.
            rest = np.where(outlier, size - x[cell], size)
            pulled.append(
                np.where(
                    outlier & (rest > 0),
                    (total_y - y[cell]) / np.where(rest > 0, rest, 1.0),
                    ratio,
                )
            )
            winsorised = centre * x[cell] + sign * second * root[cell]
            y_spread[cell] = np.where(outlier, winsorised, y[cell])
    return pulled[0], pulled[1], y_spread
