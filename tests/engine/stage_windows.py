"""Windows of the VAOS example's stages, from the simulator through the real ingest.

Each set is built once per test process (about two seconds each): two hours of
seed 000's traffic (400 requests a minute) with the first toggle at its Stage B
share, healthy or with the treatment's error rate raised past the plan's limit.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from pathlib import Path

from flagramp.core.plans import Plan, load_plan
from flagramp.engine.compile import compile_stage, metric_specs
from flagramp.engine.compiled import CompiledStage
from flagramp.sim import FlagState, Regression, RegressionKind, span_batches
from flagramp.sim.examples import VAOS_FLAGS, vaos_world
from flagramp.stats.ingest import WindowIngest
from flagramp.stats.windows import Window
from tests.sim.worlds import MONDAY

EXAMPLES = Path(__file__).parents[2] / "examples"
#: The stage starts at 10:00 on a Monday and the windows cover two hours.
START = MONDAY + 600
MINUTES = 120
FLAG = VAOS_FLAGS[0][0]
#: The regressed treatment fails 10 % of its VAOS calls: twice the plan's 5 %.
RAISED_BY = 0.09
#: The new error class the regressed treatment also hits.
NEW_ERROR = "Vaos::Regression /vaos/facilities"


@functools.cache
def vaos_plan() -> Plan:
    """The VAOS example plan."""
    path = EXAMPLES / "vaos-service-integration.yaml"
    return load_plan(path.read_text(encoding="utf-8"), path.name).plan


def vaos_stage(stage_index: int = 1) -> CompiledStage:
    """Phase I's stage (B, 25 %, by default), compiled."""
    plan = vaos_plan()
    phase = next(p for p, _ in plan.rollout_phases())
    return compile_stage(plan, phase, stage_index)


def flag_states(percentage: float) -> list[FlagState]:
    """The four VAOS toggles: the first at `percentage`, the others off."""
    return [FlagState(f, percentage if f == FLAG else 0.0) for f, _ in VAOS_FLAGS]


def ingest(
    *regressions: Regression,
    spans: tuple[tuple[int, int, float], ...] = ((START, START + MINUTES, 25.0),),
    seed: int = 3,
    requests_per_minute: float = 400.0,
    run: str = "R1/phase-1/stage-b",
) -> tuple[Window, ...]:
    """The windows one ingest scope holds after the spans (start, end, percent)."""
    world = vaos_world(requests_per_minute=requests_per_minute).with_regressions(
        *regressions
    )
    scope = WindowIngest(run, FLAG, metric_specs(vaos_plan().metrics))
    for a, b, percentage in spans:
        for batch in span_batches(seed, world, a, b, flag_states(percentage)):
            scope.add_batch(batch)
    return scope.windows()


@functools.cache
def healthy() -> tuple[Window, ...]:
    """Two healthy hours at 25 %."""
    return ingest()


@functools.cache
def regressed() -> tuple[Window, ...]:
    """Two hours at 25 % whose treatment fails 10 % of VAOS calls and hits a new
    error class."""
    return ingest(
        Regression(RegressionKind.RATE, RAISED_BY, START, flag=FLAG),
        Regression(
            RegressionKind.FINGERPRINT, 0.01, START, fingerprint=NEW_ERROR, flag=FLAG
        ),
    )


def until(windows: Sequence[Window], minute: int) -> list[Window]:
    """The windows a controller would read at `minute` (those begun by then)."""
    return [w for w in windows if w.key.start <= minute]
