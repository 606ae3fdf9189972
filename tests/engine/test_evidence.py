"""Lane totals equal merged windows; what a rollback's verification counts."""

from __future__ import annotations

import functools

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from flagramp.engine.evidence import (
    lane_totals,
    share_is_consistent,
    treatment_exposures_since,
    treatment_share_since,
)
from flagramp.stats.windows import Lane, Window, merge_all
from tests.engine.stage_windows import START, healthy, ingest, regressed

#: 30 minutes at 25 %, a step back to 5 % for 30, then off for everyone for 30.
STEP_BACK, DISABLED = START + 30, START + 60


@functools.cache
def _rollback() -> tuple[Window, ...]:
    return ingest(
        spans=(
            (START, STEP_BACK, 25.0),
            (STEP_BACK, DISABLED, 5.0),
            (DISABLED, DISABLED + 30, 0.0),
        ),
        requests_per_minute=200.0,
    )


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(0, 10_000), min_size=1, max_size=60, unique=True))
def test_lane_totals_equal_the_merged_windows(picks: list[int]) -> None:
    pool = healthy() + regressed()
    windows = [pool[i] for i in dict.fromkeys(p % len(pool) for p in picks)]
    totals = lane_totals(windows)
    assert set(totals) == {w.key.lane for w in windows}
    for lane, got in totals.items():
        merged = merge_all(w for w in windows if w.key.lane is lane)
        assert np.array_equal(got.exposed.numerator, merged.exposed.numerator)
        assert np.array_equal(got.exposed.denominator, merged.exposed.denominator)
        assert set(got.metrics) == set(merged.metrics)
        for name, m in merged.metrics.items():
            assert np.array_equal(got.metrics[name].numerator, m.sums.numerator)
            assert np.array_equal(got.metrics[name].denominator, m.sums.denominator)
            assert got.kinds[name] is m.kind
        fingerprints = got.fingerprints()
        assert set(fingerprints) == set(merged.fingerprints)
        for name, f in merged.fingerprints.items():
            mine = fingerprints[name]
            assert (mine.count, mine.first_seen, mine.samples) == (
                f.count,
                f.first_seen,
                f.samples,
            )
            assert mine.actors.same_as(f.actors)
        assert got.requests == round(
            sum(c.count for k, c in merged.breakdown.items() if k[2])
        )
        exposed = [w.key.end - 1 for w in windows if w.key.lane is lane
                   and w.exposed.total_denominator > 0]  # fmt: skip
        assert got.last_exposure == max(exposed, default=None)


def test_no_treatment_exposure_arrives_after_the_flag_is_off() -> None:
    windows = _rollback()
    assert treatment_exposures_since(windows, DISABLED) == 0
    after_step_back = treatment_exposures_since(windows, STEP_BACK)
    on = [w for w in windows if w.key.lane is Lane.ON and w.key.start >= STEP_BACK]
    assert after_step_back == round(sum(w.exposed.total_denominator for w in on)) > 0
    assert treatment_exposures_since(windows, START) > after_step_back


def test_an_exposure_that_still_sees_the_flag_on_is_counted() -> None:
    stale = [w for w in healthy() if w.key.start >= START + 100]
    assert treatment_exposures_since(stale, START + 100) > 0


def test_the_share_after_a_step_back_is_the_new_share() -> None:
    windows = [w for w in _rollback() if w.key.start < DISABLED]
    share = treatment_share_since(windows, STEP_BACK)
    assert share is not None and 0.03 < share < 0.07
    assert share_is_consistent(windows, STEP_BACK, 0.05) is True
    assert share_is_consistent(windows, STEP_BACK, 0.25) is False
    before = treatment_share_since(windows, START)
    assert before is not None and before > 0.15


def test_a_share_of_zero_needs_no_user_in_treatment() -> None:
    windows = _rollback()
    assert share_is_consistent(windows, DISABLED, 0.0) is True
    assert share_is_consistent(windows, STEP_BACK, 0.0) is False
    assert share_is_consistent((), START, 0.05) is None
    assert treatment_share_since((), START) is None
