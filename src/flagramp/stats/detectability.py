"""What a stage can detect: the smallest harm caught within its hold, and how soon.

`plan lint` shows these per stage and criterion, so that a plan whose 1 % canary sees
a few dozen treatment requests a day (seed 003 at about 60 requests/minute) says so
before it runs, instead of holding for days and concluding nothing.

They run the guard's own harm test (`stats.one_sided`, lower side: variance at the
null boundary with the pooled rate, design effect, skew-side correction) on the
*expected* data of a stage: after t minutes treatment has n_T = share · rate · t
requests at rate p + sign·(margin + effect) and control n_C = control_share · rate · t
at rate p (a baseline is fixed; an absolute limit has no reference). The guard fires
at the first look where its estimate D̂ − margin clears c(t) = r(V(t)) + correction,
r the radius of the mixture boundary at level α. D̂ itself is random: D̂/V₁ (V₁ its
variance under the effect) is a Brownian motion with drift `effect` in information
time I = 1/V₁, so the chance of having fired by each look is computed by an
absorbing-boundary recursion on a grid, one step per look (Gaussian increments),
with at most `MAX_LOOKS` looks: over long holds looks are spaced wider than the
guard's minute, which can only make the figures later, never sooner.

- `detection_probability`: the chance the guard has fired by a given minute;
- `expected_detection_minutes`: the minute by which half the stages have fired
  (the simulated median in bench/stats_sim.py, printed beside it);
- `detectable_effect`: the smallest effect fired on within the hold in ≥ 1 − β of
  stages.

Normal approximation throughout: with only a few expected events in treatment over
the hold the figures are optimistic, and the guard itself stays inconclusive.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from flagramp.core.errors import StatsError
from flagramp.stats.moments import ArmMoments
from flagramp.stats.one_sided import Comparison, Direction, Side, excess_and_variance
from flagramp.stats.sequential import log_mixture_ratio, mixing_variance

FloatArray = npt.NDArray[np.float64]

#: Longest time searched for a detection (a year of minutes).
MAX_MINUTES = 525_600.0
#: Looks simulated per recursion; longer horizons space them wider than a minute.
MAX_LOOKS = 400
_GRID = 801


def _arm(
    estimate: float, size: FloatArray, variance: FloatArray, deff: float
) -> ArmMoments:
    e = np.full_like(size, estimate)
    d = np.full_like(size, deff)
    return ArmMoments(e, size, variance, d, e, e, variance, d)


def _radius(variance: FloatArray, tau2: float, alpha: float) -> FloatArray:
    # `mixture_radius` for many variances at once: bisection below the two-sided
    # (closed-form) radius, which is never smaller.
    target = math.log(1.0 / alpha)
    hi = np.sqrt(
        variance * (variance + tau2) / tau2
        * (2.0 * target + np.log((variance + tau2) / variance))
    )  # fmt: skip
    lo = np.zeros_like(hi)
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        below = log_mixture_ratio(mid, variance, tau2) < target
        lo, hi = np.where(below, mid, lo), np.where(below, hi, mid)
    return hi


@dataclass(frozen=True, slots=True)
class StageTraffic:
    """A stage's traffic and one criterion's test, as `plan lint` knows them.

    `base_rate` is the reference's rate (control, baseline) or, for an absolute
    criterion, the limit. `margin` is the harm a comparison allows (its
    `max_increase`; ignored for absolute limits). `mde` tunes the mixture as the
    plan's does (None: tuned to each effect asked about). `control_share` defaults
    to 1 − share (at 100 %, the holdback). `unit_variance` makes it a mean with
    per-unit variance σ² (CSAT); otherwise a proportion with `design_effect` φ.
    """

    requests_per_minute: float
    share: float
    base_rate: float
    alpha: float
    comparison: Comparison = Comparison.CONTROL
    margin: float = 0.0
    mde: float | None = None
    design_effect: float = 1.0
    control_share: float | None = None
    baseline_variance: float = 0.0
    direction: Direction = Direction.HIGHER_IS_WORSE
    unit_variance: float | None = None

    def __post_init__(self) -> None:
        rpm, share, alpha = self.requests_per_minute, self.share, self.alpha
        if not (rpm > 0 and 0 < share <= 1 and 0 < alpha < 1):
            raise StatsError(
                "detectability needs traffic > 0, 0 < share <= 1 and 0 < alpha < 1"
            )
        if self.comparison is Comparison.CONTROL and not 0 < self.control <= 1:
            raise StatsError("a control comparison needs a control share in (0, 1]")
        if self.design_effect < 1 or self.baseline_variance < 0 or self.margin < 0:
            raise StatsError(
                "design effect must be >= 1, baseline variance and margin >= 0"
            )
        if self.unit_variance is None and not 0 <= self.base_rate <= 1:
            raise StatsError("a rate must be between 0 and 1")
        if self.unit_variance is not None and not self.unit_variance > 0:
            raise StatsError("a mean needs a positive unit variance")
        if self.mde is not None and not self.mde > 0:
            raise StatsError("mde must be positive")

    @property
    def control(self) -> float:
        return 1.0 - self.share if self.control_share is None else self.control_share

    @property
    def largest_effect(self) -> float:
        """The largest harm that keeps a rate within [0, 1]."""
        if self.unit_variance is not None:
            return 1e6 * math.sqrt(self.unit_variance)
        sign = self.direction.sign
        room = 1.0 - self.base_rate if sign > 0 else self.base_rate
        if self.comparison is not Comparison.ABSOLUTE:
            room -= self.margin
        # Short of a rate of exactly 0 or 1, which has no variance.
        return room * (1.0 - 1e-9)

    def _arms(
        self, minutes: FloatArray, effect: float
    ) -> tuple[ArmMoments, ArmMoments | None, float]:
        sign, base, deff = self.direction.sign, self.base_rate, self.design_effect
        n_t = self.share * self.requests_per_minute * minutes
        if self.comparison is Comparison.ABSOLUTE:
            p_t, boundary = base + sign * effect, sign * base
        else:
            p_t, boundary = base + sign * (self.margin + effect), self.margin
        unit = self.unit_variance
        if unit is not None:
            treatment = _arm(p_t, n_t, unit / n_t, 1.0)
        else:
            treatment = _arm(p_t, n_t, deff * p_t * (1 - p_t) / n_t, deff)
        if self.comparison is Comparison.ABSOLUTE:
            return treatment, None, boundary
        if self.comparison is Comparison.BASELINE:
            v_b = self.baseline_variance
            size = unit / v_b if unit is not None and v_b > 0 else 1.0
            fixed = np.full_like(n_t, v_b)
            return treatment, _arm(base, np.full_like(n_t, size), fixed, deff), boundary
        n_c = self.control * self.requests_per_minute * minutes
        per_unit = base * (1 - base) * deff if unit is None else unit
        return treatment, _arm(base, n_c, per_unit / n_c, deff), boundary

    def _looks(
        self, minutes: float, effect: float
    ) -> tuple[FloatArray, FloatArray, FloatArray]:
        # Look times, information I = 1/V₁, and where M = (D̂ − margin − effect)·I
        # fires: M ≥ (r(V₀) − S)·I, S the guard's expected excess (so r − S is the
        # radius plus the correction, less the drift).
        step = max(1.0, float(math.ceil(minutes / MAX_LOOKS)))
        times = np.arange(step, minutes + 1e-9, step)
        if times.size == 0:
            times = np.array([float(minutes)])
        t, r, boundary = self._arms(times, effect)
        s, v = excess_and_variance(
            Side.LOWER, boundary, t, r, comparison=self.comparison,
            sign=self.direction.sign, proportion=self.unit_variance is None,
        )  # fmt: skip
        info = 1.0 / (t.variance + (0.0 if r is None else r.variance))
        tau2 = mixing_variance(effect if self.mde is None else self.mde, self.alpha)
        edge = (_radius(v, tau2, self.alpha) - s) * info
        return times, info, edge

    def fired(self, minutes: float, effect: float) -> tuple[FloatArray, FloatArray]:
        """Look times up to `minutes` and the chance of having fired by each."""
        times, info, edge = self._looks(minutes, effect)
        span = 8.0 * math.sqrt(info[-1])
        grid = np.linspace(-span, span, _GRID)
        h = float(grid[1] - grid[0])
        sd = math.sqrt(info[0])
        density = np.exp(-0.5 * (grid / sd) ** 2)
        density /= density.sum()
        fired = np.empty_like(times)
        total = 0.0
        for j in range(times.size):
            if j:
                sd = math.sqrt(max(info[j] - info[j - 1], 0.0))
                half = math.ceil(6.0 * sd / h)
                if half:
                    kernel = np.exp(-0.5 * (np.arange(-half, half + 1) * h / sd) ** 2)
                    density = np.convolve(density, kernel / kernel.sum(), mode="same")
            above = grid >= edge[j]
            total += float(density[above].sum())
            density[above] = 0.0
            fired[j] = min(total, 1.0)
        return times, fired


def detection_probability(
    traffic: StageTraffic, effect: float, minutes: float
) -> float:
    """The chance that a harm `effect` beyond the margin is caught within `minutes`.

    `effect` is in the metric's units (rate, or the mean's units), beyond the margin
    (beyond the limit for an absolute criterion). 0 when it cannot happen.
    """
    if not (minutes >= 1 and 0 < effect <= traffic.largest_effect):
        return 0.0
    return float(traffic.fired(minutes, effect)[1][-1])


def expected_detection_minutes(traffic: StageTraffic, effect: float) -> float:
    """The minute by which half the stages with a harm `effect` are caught.

    inf when that takes longer than `MAX_MINUTES` or the effect cannot occur.
    """
    if not 0 < effect <= traffic.largest_effect:
        return math.inf
    horizon = 64.0
    while horizon <= MAX_MINUTES:
        times, fired = traffic.fired(horizon, effect)
        if fired[-1] >= 0.5:
            return float(times[int(np.argmax(fired >= 0.5))])
        horizon *= 4.0
    return math.inf


def detectable_effect(
    traffic: StageTraffic, hold_minutes: float, *, beta: float = 0.1
) -> float:
    """The smallest harm beyond the margin caught within the hold in ≥ 1 − β of stages.

    inf when no effect that keeps the rate within [0, 1] is caught in time.

    >>> t = StageTraffic(2000, 0.05, 0.01, 0.025, mde=0.01)
    >>> round(detectable_effect(t, 120), 4)
    0.0042
    """
    if not (hold_minutes >= 1 and 0 < beta < 1):
        raise StatsError("detectability needs a hold of a minute or more, 0 < beta < 1")
    top = traffic.largest_effect
    if top <= 0 or detection_probability(traffic, top, hold_minutes) < 1 - beta:
        return math.inf
    lo, hi = 0.0, top
    while hi - lo > 1e-4 * hi:
        mid = 0.5 * (lo + hi)
        if detection_probability(traffic, mid, hold_minutes) >= 1 - beta:
            hi = mid
        else:
            lo = mid
    return hi
