"""What an evaluation must not depend on (window order, minutes merged into hours),
and what it must always be (plain JSON, whatever the stage and the windows)."""

from __future__ import annotations

import dataclasses
import functools
import json
import random
from collections.abc import Sequence

from hypothesis import given, settings
from hypothesis import strategies as st

from flagramp.core.plans import load_plan
from flagramp.engine.compile import compile_plan
from flagramp.engine.compiled import CompiledStage
from flagramp.engine.evaluate import evaluate_stage
from flagramp.stats.windows import HOUR, Lane, Window, compact
from tests.engine.stage_windows import (
    EXAMPLES,
    FLAG,
    MINUTES,
    START,
    healthy,
    regressed,
    vaos_stage,
)

LAST = START + MINUTES - 1


def _record(windows: Sequence[Window], minute: int = LAST) -> str:
    ev = evaluate_stage(vaos_stage(), {FLAG: windows}, minute=minute, started=START)
    return json.dumps(ev.to_json(), sort_keys=True, allow_nan=False)


@settings(max_examples=5, deadline=None)
@given(st.randoms(use_true_random=False))
def test_the_order_of_the_windows_does_not_matter(rng: random.Random) -> None:
    windows = list(regressed())
    rng.shuffle(windows)
    assert _record(windows) == _record(regressed())


def test_hour_windows_give_the_decisions_minute_windows_give() -> None:
    hours = compact(regressed(), HOUR)
    assert len(hours) == 2 * len({w.key.lane for w in regressed()})
    assert _record(hours) == _record(regressed())


@functools.cache
def _example_stages() -> tuple[CompiledStage, ...]:
    stages: list[CompiledStage] = []
    for path in sorted(EXAMPLES.glob("*.yaml")):
        plan = load_plan(path.read_text(encoding="utf-8"), path.name).plan
        stages.extend(compile_plan(plan))
    return tuple(stages)


@settings(max_examples=40, deadline=None)
@given(
    st.integers(0, 10_000),
    st.lists(st.integers(0, 10_000), max_size=40),
    st.integers(-30, MINUTES + 30),
    st.integers(-30, MINUTES + 30),
    st.booleans(),
    st.integers(1, 60),
)
def test_any_stage_of_any_example_on_any_windows_gives_a_plain_evaluation(
    which: int, picks: list[int], start: int, now: int, observe: bool, grace: int
) -> None:
    stages = _example_stages()
    stage = stages[which % len(stages)]
    pool = healthy() + regressed()
    windows = [pool[p % len(pool)] for p in picks]
    # The VAOS windows under the stage's own first flag, whatever plan it is of.
    flag = stage.flags[0].flag
    windows = [
        dataclasses.replace(w, key=dataclasses.replace(w.key, flag=flag))
        for w in windows
    ]
    ev = evaluate_stage(
        stage,
        {flag: windows},
        minute=START + now,
        started=START + start,
        observe=observe,
        grace_minutes=grace,
    )
    json.dumps(ev.to_json(), allow_nan=False)
    assert [c.criterion for c in ev.checks] == [c.criterion for c in stage.checks]
    for result, check in zip(ev.checks, stage.checks, strict=True):
        assert result.acts == (check.acts and not observe)
    assert (ev.health.since is None) is ev.health.ok
    if stage.allow_list_only or stage.treatment_share in (0.0, 1.0):
        assert ev.srm_p is None and not ev.health.srm
    counted = [w for w in windows if w.key.end > START + start
               and w.key.start <= START + now]  # fmt: skip
    assert ev.treatment_users == round(
        sum(w.exposed.total_numerator for w in counted if w.key.lane is Lane.ON)
    )
