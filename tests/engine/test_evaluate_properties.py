"""What an evaluation must not depend on: window order, minutes merged into hours."""

from __future__ import annotations

import json
import random
from collections.abc import Sequence

from hypothesis import given, settings
from hypothesis import strategies as st

from flagramp.engine.evaluate import evaluate_stage
from flagramp.stats.windows import HOUR, Window, compact
from tests.engine.stage_windows import (
    FLAG,
    MINUTES,
    START,
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
