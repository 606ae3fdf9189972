"""Benchmark: flagramp's stage guards on simulated traffic, beside issue 13's and naive.

    .venv/bin/python bench/stats_sim.py            # full: 4,000 healthy stages per row
    .venv/bin/python bench/stats_sim.py --quick    # 300 stages per row, a smoke test

Setup (issues 13 and 17): 2,000 requests/min, baseline error rate 1 %, α = 0.05 split
α/2 error-rate guard (tuned for a 1-pt effect) + α/2 new-error rule, β = 0.1 for
"healthy", 120-minute stages checked at the end of every minute; "stage (any)" is the
error guard vs control, the new-error rule or the always-valid sample-ratio check.
Every method sees the same simulated aggregates (`flagramp.sim.minute_aggregate`,
thousands of stages at once as numpy arrays) and the guards run the code the engine
runs (`stats.bucket_moments`, `stats.side_log_ratio`). "issue 13" columns are the
guard as it was before issue 17 (its formula is kept below), printed beside today's.
Healthy scenarios (no harm) run `stages` stages, detection scenarios half as many.
"""

from __future__ import annotations

import argparse
import math
import time
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt
from scipy.stats import chi2, norm

from flagramp.sim import (
    MinuteAggregate,
    Regression,
    RegressionKind,
    Scenario,
    minute_aggregate,
)
from flagramp.stats import (
    SRM_THRESHOLD,
    ArmMoments,
    Comparison,
    NoveltyBudget,
    Side,
    StageTraffic,
    bucket_moments,
    detectable_effect,
    expected_detection_minutes,
    log_mixture_ratio,
    mixing_variance,
    side_log_ratio,
    split_alpha,
    users_needed,
    wald_sample_size,
)
from flagramp.stats.srm import srm_log_ratio

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
ALPHA = 0.05
SHARES = split_alpha(ALPHA, {"error rate": 1.0, "new errors": 1.0})
A = SHARES["error rate"]
BETA, STRICT_BETA = 0.1, 0.025
MDE = 0.01
MINUTES = 120
HOLD = 60
BASELINE_MINUTES = 60
SEED = 20261201


def _issue13(
    harm: FloatArray,
    reference: FloatArray,
    n: FloatArray,
    v_ref: FloatArray,
    deff: FloatArray,
    margin: float,
) -> tuple[FloatArray, FloatArray]:
    # Issue 13's `excess_and_variance`, verbatim in effect: the treatment's variance
    # at reference + margin (clipped to 0.5/n), the reference's plug-in variance on
    # top, a half-event correction. Its upper bound called it with the harm and the
    # margin mirrored, which is what "healthy issue 13" does below.
    floor = 0.5 / np.maximum(n, 1.0)
    p0 = np.clip(reference + margin, floor, 1.0 - floor)
    return harm - margin - 0.5 * deff / n, deff * p0 * (1.0 - p0) / n + v_ref


@dataclass
class Run:
    """First minute (1-based) each method fired in each stage; inf if never."""

    first: dict[str, FloatArray]
    design_effect: float
    """Median of the control's design effect at the end of the stage."""

    def rate(self, method: str) -> float:
        return float(np.isfinite(self.first[method]).mean())

    def median(self, method: str) -> float:
        return float(np.quantile(self.first[method], 0.5, method="inverted_cdf"))

    def p90(self, method: str) -> float:
        return float(np.quantile(self.first[method], 0.9, method="inverted_cdf"))

    def then(self, before: str, after: str) -> float:
        """Share of stages where `before` fired and `after` fired later."""
        b, a = self.first[before], self.first[after]
        return float((np.isfinite(b) & np.isfinite(a) & (a > b)).mean())


def _pre_run(
    seed: int, scenario: Scenario, stages: int
) -> tuple[FloatArray, ArmMoments]:
    # The pre-run window: same population, no regression, far from the stage's
    # minutes. Fingerprint users (novelty baseline) and the error-rate baseline.
    pre = scenario.with_regressions()
    fp = np.zeros((stages, len(pre.fingerprint_names())))
    errors = np.zeros((stages, scenario.buckets))
    requests = np.zeros((stages, scenario.buckets))
    for m in range(BASELINE_MINUTES):
        agg = minute_aggregate(seed, pre, 1_000_000 + m, stages)
        fp += agg.fingerprint_users.sum(axis=1)
        errors += agg.errors.sum(axis=1)
        requests += agg.requests.sum(axis=1)
    extra = len(scenario.fingerprint_names()) - fp.shape[1]
    b = bucket_moments(errors, requests)
    # A baseline is a fixed estimate with its variance (`stats.baseline`).
    fixed = replace(
        b, high_pulled_in=b.estimate, low_pulled_in=b.estimate,
        robust_variance=b.variance, robust_design_effect=b.design_effect,
    )  # fmt: skip
    return np.pad(fp, ((0, 0), (0, extra))), fixed


def _novelty_thresholds(baseline: FloatArray, share: float) -> npt.NDArray[np.int64]:
    # k for the j-th new fingerprint, per stage (budgets differ by baseline).
    f = baseline.shape[1]
    table = np.empty((baseline.shape[0], f), np.int64)
    cache: dict[int, npt.NDArray[np.int64]] = {}
    for r in range(baseline.shape[0]):
        counts = {str(j): int(c) for j, c in enumerate(baseline[r]) if c > 0}
        planned = NoveltyBudget.from_baseline(
            counts, alpha=SHARES["new errors"], share=share
        ).planned
        if planned not in cache:
            cache[planned] = NoveltyBudget(
                SHARES["new errors"], share, planned
            ).thresholds(f)
        table[r] = cache[planned]
    return table


def _lr(side: Side, boundary: float, t: ArmMoments, r: ArmMoments | None,
        comparison: Comparison, level: float) -> BoolArray:  # fmt: skip
    log_lr = side_log_ratio(
        side, boundary, t, r, tau2=mixing_variance(MDE, level),
        comparison=comparison, sign=1.0,
    )  # fmt: skip
    return np.asarray(log_lr >= math.log(1.0 / level))


def _independent(arm: ArmMoments) -> ArmMoments:
    one = np.ones_like(arm.design_effect)
    return replace(arm, design_effect=one, robust_design_effect=one)


def _guards(
    t: ArmMoments, c: ArmMoments, b: ArmMoments, limit: float
) -> dict[str, BoolArray]:
    # Today's guards, harm and healthy, against control, baseline and a limit.
    return {
        "guard": _lr(Side.LOWER, 0.0, t, c, Comparison.CONTROL, A),
        "per-request": _lr(
            Side.LOWER, 0.0, _independent(t), _independent(c), Comparison.CONTROL, A
        ),
        "baseline": _lr(Side.LOWER, 0.0, t, b, Comparison.BASELINE, A),
        "healthy": _lr(Side.UPPER, MDE, t, c, Comparison.CONTROL, BETA),
        "healthy strict": _lr(Side.UPPER, MDE, t, c, Comparison.CONTROL, STRICT_BETA),
        "baseline healthy": _lr(Side.UPPER, MDE, t, b, Comparison.BASELINE, BETA),
        "absolute healthy": _lr(
            Side.UPPER, limit + MDE, t, None, Comparison.ABSOLUTE, BETA
        ),
        "absolute healthy, control deff": _lr(
            Side.UPPER, limit + MDE, t, c, Comparison.ABSOLUTE, BETA
        ),
    }


def _old_guards(t: ArmMoments, c: ArmMoments, b: ArmMoments) -> dict[str, BoolArray]:
    tau2, level = mixing_variance(MDE, A), math.log(1.0 / A)
    deff_tc = np.maximum(1.0, np.maximum(t.design_effect, c.design_effect))
    deff_t = np.maximum(1.0, t.design_effect)
    harm = t.estimate - c.estimate
    out: dict[str, BoolArray] = {}
    over_b = t.estimate - b.estimate
    for name, h, ref, v_ref, d, m in (
        ("issue 13", harm, c.estimate, c.variance, deff_tc, 0.0),
        ("baseline issue 13", over_b, b.estimate, b.variance, deff_t, 0.0),
        ("healthy issue 13", -harm, c.estimate, c.variance, deff_tc, -MDE),
    ):
        with np.errstate(invalid="ignore", divide="ignore"):
            s, v = _issue13(h, ref, t.size, v_ref, d, m)
            out[name] = np.asarray(log_mixture_ratio(s, v, tau2) >= level)
    return out


def simulate(
    scenario: Scenario, stages: int, seed: int, retry_storm: bool = False
) -> Run:
    """Run every method on the same `stages` simulated stages of `scenario`."""
    z_crit = float(norm.isf(A))
    s = scenario.treatment_share
    fp_baseline, pre = _pre_run(seed, scenario, stages)
    in_baseline = fp_baseline > 0
    k_table = _novelty_thresholds(fp_baseline, s)
    f = fp_baseline.shape[1]
    first: dict[str, FloatArray] = {}
    cum: MinuteAggregate | None = None
    first_seen = np.full((stages, f), np.inf)
    rows = np.arange(stages)[:, None]
    c = t = None
    for minute in range(MINUTES):
        agg = minute_aggregate(seed, scenario, minute, stages)
        if retry_storm and minute == 10:
            # One treatment user retries one failing request 50 times, new fingerprint.
            agg.errors[:, 1, 0] += 50
            agg.requests[:, 1, 0] += 50
            agg.fingerprint_users[:, 1, -1] += 1
        cum = agg if cum is None else cum.merge(agg)
        c = bucket_moments(cum.errors[:, 0], cum.requests[:, 0])
        t = bucket_moments(cum.errors[:, 1], cum.requests[:, 1])
        hits = _guards(t, c, pre, scenario.error_rate) | _old_guards(t, c, pre)
        after_hold = minute + 1 >= HOLD
        hits["healthy after hold"] = hits["healthy"] & after_hold
        hits["absolute healthy after hold"] = hits["absolute healthy"] & after_hold
        n_t, n_c = t.size, c.size
        with np.errstate(invalid="ignore", divide="ignore"):
            pooled = cum.errors.sum(axis=(1, 2)) / (n_t + n_c)
            z = (t.estimate - c.estimate) / np.sqrt(
                pooled * (1 - pooled) * (1 / n_t + 1 / n_c)
            )
        hits["z-test"] = np.nan_to_num(z) > z_crit
        hits["1.5x"] = t.estimate > 1.5 * c.estimate
        # New error classes: distinct users per arm, k by order of first appearance.
        fpu = cum.fingerprint_users
        seen = fpu.sum(axis=1) > 0
        first_seen = np.where(seen & np.isinf(first_seen), minute, first_seen)
        new = seen & ~in_baseline
        key = np.where(new, first_seen * f + np.arange(f), np.inf)
        rank = np.argsort(np.argsort(key, axis=1), axis=1)
        k = k_table[rows, rank]
        hits["novelty"] = (new & (fpu[:, 0] == 0) & (fpu[:, 1] >= k)).any(axis=1)
        users = cum.users.astype(np.float64)
        total = users.sum(axis=1)
        expected = np.stack([total * (1 - s), total * s], axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            stat = ((users - expected) ** 2 / expected).sum(axis=1)
        hits["chi2 srm"] = np.nan_to_num(chi2.sf(stat, 1), nan=1.0) < SRM_THRESHOLD
        hits["srm"] = np.array(
            [srm_log_ratio(u, n, s) for u, n in zip(users[:, 1], total, strict=True)]
        ) >= math.log(1.0 / SRM_THRESHOLD)
        hits["stage"] = hits["guard"] | hits["novelty"] | hits["srm"]
        for name, hit in hits.items():
            old = first.get(name, np.full(stages, np.inf))
            first[name] = np.where(np.isinf(old) & hit, minute + 1, old)
    assert c is not None
    return Run(first, float(np.median(np.fmax(1.0, c.robust_design_effect))))


def _pct(x: float) -> str:
    return f"{x:.2%}"


def _fmt(x: float) -> str:
    return "never" if not math.isfinite(x) else f"{x:.0f}"


def _table(header: list[str]) -> None:
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))


def _row(cells: list[str]) -> None:
    print("| " + " | ".join(cells) + " |")


ICCS = (("independent", 0.0), ("ICC 0.05", 0.05), ("ICC 0.2", 0.2))
GRID_SHARES = (0.01, 0.05, 0.25, 0.5, 0.75, 0.95)
_SPEC = {"requests_per_minute": 2000.0, "base_rate": 0.01, "alpha": A, "mde": MDE}


def section_shares(stages: int) -> dict[tuple[float, float], Run]:
    print("\n(d) false rollbacks at every treatment share (healthy stages)")
    print("95 % is a 5 % holdback at 100 %. Baseline: max_increase 0 over a 60-minute")
    print(
        "pre-run window. Healthy: the control guard says healthy (β = 0.1) by min 120."
    )
    _table([
        "traffic", "share", "guard vs control", "issue 13", "guard vs baseline",
        "issue 13 baseline", "stage (any)", "healthy by 120", "median min to healthy",
        "healthy then harmful",
    ])  # fmt: skip
    runs: dict[tuple[float, float], Run] = {}
    for label, icc in ICCS:
        for share in GRID_SHARES:
            run = simulate(Scenario(treatment_share=share, icc=icc), stages, SEED)
            runs[(icc, share)] = run
            _row([
                label, f"{share:.0%}", _pct(run.rate("guard")),
                _pct(run.rate("issue 13")), _pct(run.rate("baseline")),
                _pct(run.rate("baseline issue 13")), _pct(run.rate("stage")),
                _pct(run.rate("healthy")), _fmt(run.median("healthy")),
                _pct(run.then("healthy", "guard")),
            ])  # fmt: skip
    return runs


def section_false_rollbacks(runs: dict[tuple[float, float], Run], storm: Run) -> None:
    print("\n(a) false rollbacks, healthy stages at 5 % treatment (stages stopped)")
    _table([
        "traffic", "stage (any)", "error guard", "issue 13 guard", "per-request var",
        "novelty", "SRM", "chi2 SRM each min", "z-test each min", "1.5x control",
    ])  # fmt: skip
    rows = [(label, runs[(icc, 0.05)]) for label, icc in ICCS]
    rows.append(("independent + 1 user retrying 50x (new fp)", storm))
    for label, run in rows:
        cols = ("stage", "guard", "issue 13", "per-request", "novelty", "srm")
        cols += ("chi2 srm", "z-test", "1.5x")
        _row([label, *(_pct(run.rate(c)) for c in cols)])


def section_detection(stages: int) -> dict[tuple[float, float], Run]:
    print("\n(b) detection of a treatment error rate, 5 % treatment (minutes; ratio =")
    print("median / Wald; predicted = stats.expected_detection_minutes at the run's")
    print("median control design effect)")
    _table([
        "traffic", "rate", "Wald bound", "caught", "median", "p90", "ratio",
        "predicted", "issue 13 caught", "issue 13 median", "per-request median",
        "z-test median",
    ])  # fmt: skip
    runs: dict[tuple[float, float], Run] = {}
    for label, icc in ICCS:
        for p1 in (0.015, 0.02, 0.05):
            wald = wald_sample_size(0.01, p1, ALPHA) / 100.0
            sc = Scenario(icc=icc).with_regressions(
                Regression(RegressionKind.RATE, p1 - 0.01)
            )
            run = simulate(sc, stages, SEED + 1)
            runs[(icc, p1)] = run
            traffic = StageTraffic(share=0.05, design_effect=run.design_effect, **_SPEC)
            med = run.median("stage")
            _row([
                label, f"{p1:.1%}", f"{wald:.2f}", f"{run.rate('stage'):.1%}",
                _fmt(med), _fmt(run.p90("stage")), f"{med / wald:.2f}",
                _fmt(expected_detection_minutes(traffic, p1 - 0.01)),
                f"{run.rate('issue 13'):.1%}", _fmt(run.median("issue 13")),
                _fmt(run.median("per-request")), _fmt(run.median("z-test")),
            ])  # fmt: skip
    return runs


def section_healthy(stages: int) -> None:
    print(
        "\n(e) harm exactly margin + mde: share of stages declared healthy at any look"
    )
    print("(treatment 2 % vs 1 %, margin 0, mde 1 pt; absolute: limit 1 %; β = 0.1")
    print("unless said; issue 13 mirrored its lower bound, at α/2)")
    _table([
        "traffic", "share", "vs control", "vs control, β = 0.025", "issue 13",
        "vs control, after a 60-min hold", "absolute", "absolute, after the hold",
        "absolute, control's deff", "vs baseline",
    ])  # fmt: skip
    for label, icc in (ICCS[0], ICCS[2]):
        for share in (0.05, 0.5):
            sc = Scenario(treatment_share=share, icc=icc).with_regressions(
                Regression(RegressionKind.RATE, MDE)
            )
            run = simulate(sc, stages, SEED + 3)
            _row([
                label, f"{share:.0%}", _pct(run.rate("healthy")),
                _pct(run.rate("healthy strict")), _pct(run.rate("healthy issue 13")),
                _pct(run.rate("healthy after hold")),
                _pct(run.rate("absolute healthy")),
                _pct(run.rate("absolute healthy after hold")),
                _pct(run.rate("absolute healthy, control deff")),
                _pct(run.rate("baseline healthy")),
            ])  # fmt: skip


def section_storm(stages: int, detection: dict[tuple[float, float], Run]) -> None:
    print(
        "\n(f) retry storm: one treatment user retrying 50x at minute 10, independent"
    )
    _table(["rate", "storm", "caught", "median", "issue 13 caught", "issue 13 median"])
    for p1 in (0.015, 0.02):
        sc = Scenario().with_regressions(Regression(RegressionKind.RATE, p1 - 0.01))
        for storm, run in (
            ("no", detection[(0.0, p1)]),
            ("yes", simulate(sc, stages, SEED + 1, retry_storm=True)),
        ):
            _row([
                f"{p1:.1%}", storm, f"{run.rate('guard'):.1%}",
                _fmt(run.median("guard")),
                f"{run.rate('issue 13'):.1%}", _fmt(run.median("issue 13")),
            ])  # fmt: skip


def section_low_traffic(stages: int) -> None:
    print(
        "\n(g) low traffic: 60 requests/min (seed 003), 120-minute stages, independent"
    )
    _table([
        "share", "false rollbacks", "+1 pt caught", "+1 pt median", "+4 pt caught",
        "+4 pt median", "predicted +4 pt median", "detectable in 120 min",
        "detectable in a day",
    ])  # fmt: skip
    for share in (0.01, 0.05):
        base = Scenario(requests_per_minute=60.0, treatment_share=share)
        null = simulate(base, stages, SEED + 4)
        regressions = (Regression(RegressionKind.RATE, d) for d in (0.01, 0.04))
        runs = [
            simulate(base.with_regressions(r), stages, SEED + 5) for r in regressions
        ]
        traffic = StageTraffic(
            60.0, share, 0.01, A, mde=MDE, design_effect=null.design_effect
        )
        _row([
            f"{share:.0%}", _pct(null.rate("stage")), f"{runs[0].rate('guard'):.1%}",
            _fmt(runs[0].median("guard")), f"{runs[1].rate('guard'):.1%}",
            _fmt(runs[1].median("guard")),
            _fmt(expected_detection_minutes(traffic, 0.04)),
            f"{detectable_effect(traffic, 120):.2%}",
            f"{detectable_effect(traffic, 1440):.2%}",
        ])  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="300 stages, a minute")
    parser.add_argument("--stages", type=int, default=None)
    args = parser.parse_args()
    stages = args.stages or (300 if args.quick else 4000)
    start = time.perf_counter()
    print(f"healthy stages per row: {stages}; detection rows: {stages // 2}")
    print(f"alpha {ALPHA} split {SHARES}; beta {BETA}; seed {SEED}")
    print(f"mixing sd tau = {math.sqrt(mixing_variance(MDE, A)):.4f}")
    grid = section_shares(stages)
    storm = simulate(Scenario(), stages, SEED, retry_storm=True)
    section_false_rollbacks(grid, storm)
    detection = section_detection(stages // 2)
    print("\n(c) new error fingerprint, +0.1 pt in treatment only (independent)")
    sc = Scenario().with_regressions(Regression(RegressionKind.FINGERPRINT, 0.001))
    run = simulate(sc, stages // 2, SEED + 2)
    print(
        f"novelty rule: caught {run.rate('novelty'):.1%}, median "
        f"{_fmt(run.median('novelty'))} min, p90 {_fmt(run.p90('novelty'))} min"
    )
    print("\nnovelty k (F = 200, alpha share 0.025) by treatment share s:")
    print(
        " ".join(
            f"s={sh:g}:k={users_needed(200, sh, 0.025)}"
            for sh in (0.01, 0.05, 0.1, 0.2, 0.3, 0.5)
        )
    )
    section_healthy(stages)
    section_storm(stages // 2, detection)
    section_low_traffic(stages)
    print(f"\nelapsed {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
