"""A stage evaluated with the controller's `StageMemo` decides exactly as
without it: same checks, bounds, notes, users and health, look after look."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from flagramp.engine.evaluate import StageMemo, evaluate_stage, previous_decisions
from flagramp.engine.evaluation import StageEvaluation
from flagramp.stats import GuardOutcome
from flagramp.stats.windows import Window, from_bytes, to_bytes
from tests.engine.stage_windows import (
    FLAG,
    MINUTES,
    START,
    healthy,
    regressed,
    until,
    vaos_stage,
)


def _look(
    windows: Sequence[Window],
    minute: int,
    before: StageEvaluation | None,
    memo: StageMemo | None,
) -> StageEvaluation:
    return evaluate_stage(
        vaos_stage(),
        {FLAG: until(windows, minute)},
        minute=minute,
        started=START,
        previous=previous_decisions(before),
        memo=memo,
    )


@pytest.mark.parametrize("harmful", [False, True], ids=["healthy", "regressed"])
def test_memo_gives_the_decisions_of_the_uncached_path(harmful: bool) -> None:
    stored = regressed() if harmful else healthy()
    # What a store read gives after a restart: equal windows, other objects.
    copies = tuple(from_bytes(to_bytes(w)) for w in stored)
    memo = StageMemo()
    plain: StageEvaluation | None = None
    cached: StageEvaluation | None = None
    outcomes = set()
    # Looks every 20 minutes, and twice at some minutes (nothing new arrived:
    # everything comes from the memo); the copies stand in for a re-read.
    minutes = [START + m for m in range(5, MINUTES + 5, 20)]
    looks = [m for k, m in enumerate(minutes) for _ in range(1 + k % 2)]
    for i, minute in enumerate(looks):
        source = copies if i % 5 == 4 else stored
        plain = _look(stored, minute, plain, None)
        cached = _look(source, minute, cached, memo)
        assert repr(cached) == repr(plain)
        outcomes |= {c.decision.outcome for c in plain.checks}
    assert memo.reused > 0
    if harmful:
        assert GuardOutcome.HARMFUL in outcomes
