"""Benchmark: flagramp's stage guards against naive rules, on simulated traffic.

    .venv/bin/python bench/stats_sim.py            # full run: 2,000 stages per scenario
    .venv/bin/python bench/stats_sim.py --quick    # 300 stages, a smoke test

Setup (issue 13): 2,000 requests/min, 5 % in treatment, baseline error rate 1 %,
α = 0.05, 120-minute stages checked at the end of every minute. The stage's guards:
an error-rate guard vs control tuned for a 1-pt effect (α/2) and the new-error rule
(α/2); any stop (either guard, or the sample-ratio check) is a rollback. Every method
sees the same simulated aggregates (`flagramp.sim.minute_aggregate`, thousands of
stages at once as numpy arrays).
"""

from __future__ import annotations

import argparse
import math
import time
from dataclasses import dataclass

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
    NoveltyBudget,
    design_effect,
    excess_and_variance,
    log_mixture_ratio,
    mixing_variance,
    ratio_moments,
    split_alpha,
    users_needed,
    wald_sample_size,
)
from flagramp.stats.srm import srm_log_ratio

FloatArray = npt.NDArray[np.float64]
ALPHA = 0.05
SHARES = split_alpha(ALPHA, {"error rate": 1.0, "new errors": 1.0})
MDE = 0.01
MINUTES = 120
BASELINE_MINUTES = 60
SEED = 20261123
METHODS = (
    "flagramp",
    "per-request",
    "z-test",
    "1.5x",
    "novelty",
    "srm",
    "chi2 srm",
    "stage",
)


@dataclass
class Run:
    """First minute (1-based) each method stopped each stage; inf if never."""

    first: dict[str, FloatArray]

    def rate(self, method: str) -> float:
        return float(np.isfinite(self.first[method]).mean())

    def median(self, method: str) -> float:
        return float(np.quantile(self.first[method], 0.5, method="inverted_cdf"))

    def p90(self, method: str) -> float:
        return float(np.quantile(self.first[method], 0.9, method="inverted_cdf"))


def _baseline_users(seed: int, scenario: Scenario, stages: int) -> FloatArray:
    # The pre-run window: same population, flag off, minutes far from the stage's.
    pre = scenario.with_regressions()
    total = np.zeros((stages, len(pre.fingerprint_names())))
    for m in range(BASELINE_MINUTES):
        agg = minute_aggregate(seed, pre, 1_000_000 + m, stages)
        total += agg.fingerprint_users.sum(axis=1)
    extra = len(scenario.fingerprint_names()) - total.shape[1]
    return np.pad(total, ((0, 0), (0, extra)))


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
            budget = NoveltyBudget(SHARES["new errors"], share, planned)
            cache[planned] = budget.thresholds(f)
        table[r] = cache[planned]
    return table


def simulate(
    scenario: Scenario, stages: int, seed: int, retry_storm: bool = False
) -> Run:
    """Run every method on the same `stages` simulated stages of `scenario`."""
    tau2 = mixing_variance(MDE, SHARES["error rate"])
    threshold = math.log(1.0 / SHARES["error rate"])
    z_crit = float(norm.isf(SHARES["error rate"]))
    s = scenario.treatment_share
    baseline = _baseline_users(seed, scenario, stages)
    in_baseline = baseline > 0
    k_table = _novelty_thresholds(baseline, s)
    f = baseline.shape[1]
    first = {m: np.full(stages, np.inf) for m in METHODS}
    cum: MinuteAggregate | None = None
    first_seen = np.full((stages, f), np.inf)
    rows = np.arange(stages)[:, None]
    for minute in range(MINUTES):
        agg = minute_aggregate(seed, scenario, minute, stages)
        if retry_storm and minute == 10:
            # One treatment user retries one failing request 50 times, new fingerprint.
            agg.errors[:, 1, 0] += 50
            agg.requests[:, 1, 0] += 50
            agg.fingerprint_users[:, 1, -1] += 1
        cum = agg if cum is None else cum.merge(agg)
        r_c, v_c, n_c = ratio_moments(cum.errors[:, 0], cum.requests[:, 0])
        r_t, v_t, n_t = ratio_moments(cum.errors[:, 1], cum.requests[:, 1])
        deff = np.maximum(
            1.0, np.maximum(design_effect(r_t, v_t, n_t), design_effect(r_c, v_c, n_c))
        )
        hits: dict[str, npt.NDArray[np.bool_]] = {}
        for name, d, v_ref in (
            ("flagramp", deff, v_c),
            ("per-request", np.ones(stages), r_c * (1 - r_c) / n_c),
        ):
            excess, var = excess_and_variance(
                r_t - r_c, r_c, n_t, v_t, v_ref, d, margin=0.0, sign=1.0
            )
            hits[name] = log_mixture_ratio(excess, var, tau2) >= threshold
        pooled = (cum.errors[:, :, :].sum(axis=(1, 2))) / (n_t + n_c)
        z = (r_t - r_c) / np.sqrt(pooled * (1 - pooled) * (1 / n_t + 1 / n_c))
        hits["z-test"] = np.nan_to_num(z) > z_crit
        hits["1.5x"] = r_t > 1.5 * r_c
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
        stat = ((users - expected) ** 2 / expected).sum(axis=1)
        hits["chi2 srm"] = chi2.sf(stat, 1) < SRM_THRESHOLD
        hits["srm"] = np.array(
            [srm_log_ratio(u, t, s) for u, t in zip(users[:, 1], total, strict=True)]
        ) >= math.log(1.0 / SRM_THRESHOLD)
        hits["stage"] = hits["flagramp"] | hits["novelty"] | hits["srm"]
        for name, hit in hits.items():
            first[name] = np.where(np.isinf(first[name]) & hit, minute + 1, first[name])
    return Run(first)


def _rates(label: str, run: Run) -> str:
    cols: tuple[str, ...] = ("stage", "flagramp", "per-request", "novelty", "srm")
    cols += ("chi2 srm", "z-test", "1.5x")
    return f"| {label} | " + " | ".join(f"{run.rate(c):.2%}" for c in cols) + " |"


def _fmt(x: float) -> str:
    return "never" if not math.isfinite(x) else f"{x:.0f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="300 stages, seconds")
    parser.add_argument("--stages", type=int, default=None)
    args = parser.parse_args()
    stages = args.stages or (300 if args.quick else 2000)
    start = time.perf_counter()
    base = Scenario()
    print(f"stages per scenario: {stages}; alpha {ALPHA} split {SHARES}")
    print(
        f"mixing sd tau = {math.sqrt(mixing_variance(MDE, SHARES['error rate'])):.4f}"
    )
    print("\n(a) false rollbacks, healthy stages (rate of stages stopped)")
    print(
        "| traffic | stage (any) | error guard | per-request var | novelty | SRM "
        "| chi2 SRM each min | z-test each min | 1.5x control |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for label, icc in (("independent", 0.0), ("ICC 0.05", 0.05), ("ICC 0.2", 0.2)):
        run = simulate(Scenario(icc=icc), stages, SEED)
        print(_rates(label, run))
    storm = simulate(base, stages, SEED, retry_storm=True)
    print(_rates("independent + 1 user retrying 50x (new fp)", storm))
    print("\n(b) detection of a treatment error rate (minutes; ratio = median / Wald)")
    print(
        "| traffic | rate | Wald bound | caught | median | p90 | ratio "
        "| per-request median | z-test median |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for label, icc in (("independent", 0.0), ("ICC 0.05", 0.05), ("ICC 0.2", 0.2)):
        for p1 in (0.015, 0.02, 0.05):
            wald = wald_sample_size(0.01, p1, ALPHA) / 100.0
            sc = Scenario(icc=icc).with_regressions(
                Regression(RegressionKind.RATE, p1 - 0.01)
            )
            run = simulate(sc, stages, SEED + 1)
            med = run.median("stage")
            print(
                f"| {label} | {p1:.1%} | {wald:.2f} | {run.rate('stage'):.1%} | "
                f"{_fmt(med)} | {_fmt(run.p90('stage'))} | {med / wald:.2f} | "
                f"{_fmt(run.median('per-request'))} | {_fmt(run.median('z-test'))} |"
            )
    print("\n(c) new error fingerprint, +0.1 pt in treatment only (independent)")
    sc = base.with_regressions(Regression(RegressionKind.FINGERPRINT, 0.001))
    run = simulate(sc, stages, SEED + 2)
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
    print(f"\nelapsed {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
