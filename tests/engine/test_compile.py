"""Plans compiled into what the statistics run."""

from __future__ import annotations

from pathlib import Path

import pytest

from flagramp.core.errors import EngineError
from flagramp.core.metric_kinds import MetricKind
from flagramp.core.plans import (
    Plan,
    RolloutPhase,
    alpha_share,
    load_plan,
)
from flagramp.core.plans.lint import users_needed as core_users_needed
from flagramp.core.plans.metrics import QuantileMetric, RatioMetric, ShareAboveMetric
from flagramp.core.severity import Severity
from flagramp.engine.compile import (
    CompiledCount,
    CompiledNovelty,
    CompiledRatio,
    compile_plan,
    compile_stage,
    metric_specs,
)
from flagramp.stats import Comparison, Direction, RatioGuard, users_needed
from flagramp.stats.ingest import MetricSpec
from tests.core.plans.sample import BASE

EXAMPLES = Path(__file__).parents[2] / "examples"
_AUDIENCE = "audience: {eligible: oracle}"
_CANARY = "{kind: absolute, metric: error_rate, below: 5, mde: 1, severity: critical}"


def _plan(text: str = BASE) -> Plan:
    return load_plan(text, "plan.yaml").plan


def _canary(criteria: str, text: str = BASE) -> Plan:
    return _plan(text.replace("          - " + _CANARY + "\n        go_no_go",
                              criteria + "        go_no_go", 1))  # fmt: skip


def test_specs_come_from_plan_metrics() -> None:
    specs = metric_specs(
        {
            "err": RatioMetric(kind="ratio", numerator="x_failed", denominator="x"),
            "p95": QuantileMetric(
                kind="quantile",
                event="x",
                value="latency_ms",
                q=0.95,
                where=("route == /a",),
            ),
            "slow": ShareAboveMetric(
                kind="share_above", event="x", value="latency_ms", threshold=2000
            ),
        }
    )
    assert specs == (
        MetricSpec("err", MetricKind.RATIO, ("x_failed", "x")),
        MetricSpec("p95", MetricKind.QUANTILE, ("x",), "latency_ms", ("route == /a",)),
        MetricSpec("slow", MetricKind.SHARE_ABOVE, ("x",), "latency_ms", (), 2000),
    )


@pytest.mark.parametrize("name", sorted(p.name for p in EXAMPLES.glob("*.yaml")))
def test_every_criterion_of_every_example_compiles_to_a_guard(name: str) -> None:
    plan = load_plan((EXAMPLES / name).read_text(encoding="utf-8"), name).plan
    stages = compile_plan(plan)
    rollout = [s for _, p in plan.rollout_phases() for s in p.stages]
    assert len(stages) == len(rollout)
    for compiled, stage in zip(stages, rollout, strict=True):
        assert [c.criterion for c in compiled.checks] == [
            c.label for c in stage.criteria
        ]
        for check in compiled.checks:
            if isinstance(check, CompiledRatio):
                guard = check.guard_for(0.02) if check.relative else check.guard_for()
                assert 0 < guard.alpha <= compiled.alpha and guard.mde > 0
            elif isinstance(check, CompiledNovelty):
                assert check.budget({"a": 1, "b": 1, "c": 2}).planned >= 20
            else:
                assert check.limit.limit >= 1
    specs = metric_specs(plan.metrics)
    assert {s.name for s in specs} <= set(plan.metrics)


def test_percent_in_the_plan_is_a_rate_in_the_guard() -> None:
    stage = compile_stage(_plan(), 0, 0)
    (check,) = stage.checks
    assert isinstance(check, CompiledRatio) and check.acts
    assert check.guard == RatioGuard(
        "absolute:error_rate", Comparison.ABSOLUTE, 0.05, 0.01, 0.05,
        Severity.CRITICAL, Direction.HIGHER_IS_WORSE, True,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("criterion", "comparison", "limit", "mde", "direction"),
    [
        ("{kind: relative_to_control, metric: error_rate, max_increase: 0.5, "
         "mde: 0.25, severity: high}", Comparison.CONTROL, 0.005, 0.0025,
         Direction.HIGHER_IS_WORSE),
        ("{kind: absolute, metric: error_rate, above: 90, mde: 2, severity: high}",
         Comparison.ABSOLUTE, 0.9, 0.02, Direction.LOWER_IS_WORSE),
        ("{kind: relative_to_control, metric: csat, max_decrease: 0.2, mde: 0.3, "
         "severity: low}", Comparison.CONTROL, 0.2, 0.3, Direction.LOWER_IS_WORSE),
    ],
)  # fmt: skip
def test_tolerances_and_directions(
    criterion: str,
    comparison: Comparison,
    limit: float,
    mde: float,
    direction: Direction,
) -> None:
    text = BASE.replace(
        "  calls: {kind",
        "  csat: {kind: mean, event: contact_center_call, value: score}\n"
        "  calls: {kind",
    )
    (check,) = compile_stage(_canary(f"          - {criterion}\n", text), 0, 0).checks
    assert isinstance(check, CompiledRatio)
    guard = check.guard
    assert (guard.comparison, guard.direction) == (comparison, direction)
    assert (guard.limit, guard.mde) == pytest.approx((limit, mde))
    assert guard.proportion is (check.metric == "error_rate")


def test_a_percent_tolerance_against_the_baseline_scales_with_the_baseline() -> None:
    text = BASE.replace(
        "{kind: ratio, numerator: request_failed, denominator: request}",
        "{kind: ratio, numerator: request_failed, denominator: request, "
        "source: {kind: pushed, collected_since: 2026-01-01}}",
    )
    plan = _canary(
        "          - {kind: relative_to_baseline, metric: error_rate, "
        "max_increase: 20, unit: percent, mde: 10, severity: high}\n",
        text,
    )
    (check,) = compile_stage(plan, 0, 0).checks
    assert isinstance(check, CompiledRatio) and check.relative
    guard = check.guard_for(0.02)  # a 2 % baseline: +20 % is 0.4 points
    assert (guard.comparison, guard.limit, guard.mde) == pytest.approx(
        (Comparison.BASELINE, 0.004, 0.002)
    )
    assert check.baseline is not None and check.baseline.window.text == "7d"
    with pytest.raises(EngineError, match="needs a baseline above 0"):
        check.guard_for(0.0)


def test_alpha_is_split_over_acting_tests_as_core_says() -> None:
    criteria = (
        f"          - {_CANARY}\n"
        "          - {kind: absolute, metric: error_rate, below: 9, mde: 1, "
        "severity: high, mode: observe}\n"
        "          - {kind: count, metric: calls, below: 2, severity: high}\n"
        "          - {kind: new_error_class, severity: critical}\n"
    )
    plan = _canary(criteria)
    checks = compile_stage(plan, 0, 0).checks
    phase = plan.phases[0]
    assert isinstance(phase, RolloutPhase)
    alphas = [
        c.guard.alpha
        if isinstance(c, CompiledRatio)
        else c.alpha
        if isinstance(c, CompiledNovelty)
        else 0.0
        for c in checks
    ]
    assert alphas == pytest.approx([0.025, 0.05 / 3, 0.0, 0.025])
    assert alphas == pytest.approx([alpha_share(phase.stages[0], i) for i in range(4)])
    assert [c.acts for c in checks] == [True, False, True, True]


def test_holdback_and_shared_users_set_each_flags_percentage() -> None:
    held = "\n    holdback: 5\n    holdback_until: go_live\n    shared_users: true"
    declared = "  new_flow: {create: true}"
    text = (
        BASE.replace(_AUDIENCE, _AUDIENCE + held)
        .replace(declared, declared + "\n  extra: {}")
        .replace("flags: [new_flow]", "flags: [new_flow, extra]")
    )
    stages = compile_plan(_plan(text))
    assert [s.flags[0].percentage.text for s in stages] == ["4.75", "47.5", "95"]
    assert [s.treatment_share for s in stages] == [0.0475, 0.475, 0.95]
    last = stages[-1]
    assert [(f.flag, f.bucket_key, f.eligible) for f in last.flags] == [
        ("new_flow", "new_flow", "oracle"),
        ("extra", "new_flow", "oracle"),
    ]
    assert (last.hold.text, last.max_time.text, last.alpha, last.beta) == (
        "1d", "2d", 0.05, 0.1,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("scale", "stage", "limit"),
    [("fixed", 1, 2), ("share", 1, 1), ("share", 2, 2)],
)
def test_count_limits_scale_with_the_share_when_the_plan_says_so(
    scale: str, stage: int, limit: int
) -> None:
    half_count = "{kind: count, metric: calls, below: 2, severity: high}"
    text = BASE.replace(half_count, half_count[:-1] + f", scale: {scale}}}")
    if stage == 2:
        text = text.replace(
            "          - " + _CANARY + "\nrollback",
            "          - " + half_count[:-1] + f", scale: {scale}}}\nrollback",
        )
    (check,) = compile_stage(_plan(text), 0, stage).checks
    assert isinstance(check, CompiledCount)
    assert check.limit.limit == limit
    assert check.resets_after_step_back


def test_counts_of_events_without_an_actor_are_environment_level() -> None:
    text = BASE.replace(
        "contact_center_call: {kind: business}",
        "contact_center_call: {kind: business, actor: false}",
    )
    (check,) = compile_stage(_plan(text), 0, 1).checks
    assert isinstance(check, CompiledCount) and check.environment_level


def test_novelty_takes_f_from_the_plan_or_the_baseline() -> None:
    fixed = _canary(
        "          - {kind: new_error_class, fingerprints: 50, min_users: 3, "
        "event: request, severity: critical}\n"
    )
    (check,) = compile_stage(fixed, 0, 0).checks
    assert isinstance(check, CompiledNovelty)
    assert (check.share, check.event, check.min_users) == (0.05, "request", 3)
    assert check.budget().planned == 50
    free = _canary("          - {kind: new_error_class, severity: critical}\n")
    (check,) = compile_stage(free, 0, 0).checks
    assert isinstance(check, CompiledNovelty)
    # Chao1 from the baseline: 10 singletons, 1 doubleton → 50 unseen, × 1.5.
    counts = {**{f"s{i}": 1 for i in range(10)}, "d": 2}
    assert check.budget(counts).planned == 75


@pytest.mark.parametrize(
    ("fingerprints", "share", "alpha"),
    [(20, 0.05, 0.045), (20, 0.75, 0.045), (200, 0.2, 0.0075), (50, 0.01, 0.01)],
)
def test_the_linters_k_agrees_with_the_statistics(
    fingerprints: int, share: float, alpha: float
) -> None:
    assert core_users_needed(fingerprints, share, alpha) == users_needed(
        fingerprints, share, alpha
    )
