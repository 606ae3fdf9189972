"""Data health of a stage: sample-ratio mismatch, gaps, failing sources."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from flagramp.engine.evaluate import evaluate_stage
from flagramp.engine.evaluation import DataHealth
from flagramp.engine.health import clock_text
from flagramp.stats import ArmEstimate
from flagramp.stats.windows import Lane, Window
from tests.engine.stage_windows import FLAG, MINUTES, START, healthy, until, vaos_stage

LAST = START + MINUTES - 1
_NO_DATA = ArmEstimate(float("nan"), float("nan"), 0.0)


def _health(windows: list[Window], minute: int, **kw: Any) -> DataHealth:
    return evaluate_stage(
        vaos_stage(), {FLAG: windows}, minute=minute, started=START, **kw
    ).health


def _lost_treatment(every: int) -> list[Window]:
    # An SDK that drops treatment's exposures and outcomes one minute in `every`.
    return [
        w
        for w in healthy()
        if not (w.key.lane is Lane.ON and (w.key.start - START) % every == 0)
    ]


def test_clock_text_is_hours_and_minutes_of_the_day() -> None:
    assert clock_text(START) == "10:00"
    assert clock_text(START + 83) == "11:23"
    assert clock_text(START + 14 * 60) == "00:00"


def test_a_lost_share_of_treatment_is_a_sample_ratio_mismatch() -> None:
    ev = evaluate_stage(vaos_stage(), {FLAG: _lost_treatment(3)}, minute=LAST,
                        started=START)  # fmt: skip
    assert ev.health.srm and not ev.health.ok
    assert ev.health.reason is not None
    assert ev.health.reason.startswith("sample ratio mismatch p=")
    assert ev.health.since == LAST
    assert ev.srm_p is not None and ev.srm_p < 1e-6
    share = ev.treatment_users / (ev.treatment_users + ev.control_users)
    assert share < 0.22


def test_the_same_stage_with_every_window_has_no_mismatch() -> None:
    ev = evaluate_stage(vaos_stage(), {FLAG: healthy()}, minute=LAST, started=START)
    assert ev.health == DataHealth()
    assert ev.srm_p is not None and ev.srm_p > 0.001


def test_the_split_is_checked_against_the_stage_share() -> None:
    canary = vaos_stage(0)  # 5 %, while the windows hold 25 %
    ev = evaluate_stage(canary, {FLAG: healthy()}, minute=LAST, started=START)
    assert ev.health.srm


def test_a_full_stage_has_no_split_to_check() -> None:
    full = vaos_stage(2)
    assert full.treatment_share == 1.0
    on = [w for w in healthy() if w.key.lane is Lane.ON]
    ev = evaluate_stage(full, {FLAG: on}, minute=LAST, started=START)
    assert ev.srm_p is None and ev.health.ok


@pytest.mark.parametrize(("gap", "missing"), [(5, False), (9, False), (10, True)])
def test_no_exposures_for_the_grace_period_is_missing_data(
    gap: int, missing: bool
) -> None:
    # Minutes [stop, stop + gap) had no data; `stop + gap` is the current one,
    # whose events may still be arriving.
    stop = START + 60
    health = _health(until(healthy(), stop - 1), stop + gap)
    assert health.ok is not missing
    if missing:
        assert health == DataHealth("no exposures since 11:00", since=stop)
        assert not health.srm


def test_a_stage_without_any_data_counts_its_gap_from_its_start() -> None:
    assert _health([], START + 9).ok
    assert _health([], START + 10) == DataHealth(
        "no exposures since 10:00", since=START
    )


def test_a_longer_grace_waits_longer() -> None:
    assert _health([], START + 10, grace_minutes=30).ok
    assert not _health([], START + 30, grace_minutes=30).ok


def test_exposures_without_metric_events_are_missing_data() -> None:
    stop = START + 45
    windows = [
        w if w.key.start < stop else dataclasses.replace(w, metrics={})
        for w in healthy()
    ]
    health = _health(windows, LAST)
    assert health == DataHealth("no metric events since 10:45", since=stop)


def test_a_failing_source_is_missing_data_after_the_grace_period() -> None:
    windows = until(healthy(), LAST)
    failing = {"datadog": LAST - 4}
    assert _health(windows, LAST, source_failures=failing).ok
    failing = {"datadog": LAST - 12, "prometheus": LAST - 20}
    health = _health(windows, LAST, source_failures=failing)
    assert health == DataHealth(
        "source datadog unavailable since 11:47", since=LAST - 12
    )


def test_a_mismatch_outranks_a_gap() -> None:
    windows = [w for w in _lost_treatment(3) if w.key.start < START + 90]
    health = _health(windows, LAST)
    assert health.srm


def test_metrics_read_from_a_source_are_not_looked_for_in_the_windows() -> None:
    windows = [dataclasses.replace(w, metrics={}) for w in until(healthy(), LAST)]
    assert _health(windows, LAST).reason == "no metric events since 10:00"
    arms = {m: {Lane.ON: _NO_DATA} for m in ("error_rate", "abandonment_rate")}
    assert _health(windows, LAST, source_arms=arms).ok
