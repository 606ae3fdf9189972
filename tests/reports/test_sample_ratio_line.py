"""A stage's sample-ratio line says what the run acts on: its always-valid test
at α = 0.001, not the χ² p-value printed beside it, in Markdown and HTML."""

from __future__ import annotations

import dataclasses

from flagramp.reports import render_html, render_markdown
from flagramp.reports.model import ReleaseReport, SampleRatio, StageResults
from flagramp.reports.placeholders import visible_text
from flagramp.reports.stage_results import sample_ratio_of
from flagramp.stats import SRM_THRESHOLD
from tests.reports.vaos_run import report

RULE = (
    "by the run's rule (the run pauses when its always-valid sample-ratio test "
    "rejects at α = 0.001; a χ² p-value alone does not pause it)"
)


def _with_ratio(ratio: SampleRatio) -> ReleaseReport:
    """The VAOS report with Phase I's canary showing `ratio`."""
    base = report()
    phase = base.phases[0]
    stage = phase.stages[0]
    assert isinstance(stage.results, StageResults)
    assert stage.results.sample_ratio is not None  # a stage with a control
    results = dataclasses.replace(stage.results, sample_ratio=ratio)
    stages = (dataclasses.replace(stage, results=results), *phase.stages[1:])
    phases = (dataclasses.replace(phase, stages=stages), *base.phases[1:])
    return dataclasses.replace(base, phases=phases)


def _lines(text: str) -> list[str]:
    return [
        " ".join(line.split())
        for line in text.splitlines()
        if "Sample ratio:" in line and "treatment /" in line
    ]


def test_a_p_of_two_percent_reads_as_no_mismatch_by_the_runs_rule() -> None:
    # 1,000 users at 25 %: 282 in treatment is χ² p ≈ 0.02.
    ratio = sample_ratio_of(282, 718, 0.25)
    assert 0.015 < ratio.p_value < 0.025 and not ratio.mismatch
    rendered = _with_ratio(ratio)
    for text in (render_markdown(rendered), visible_text(render_html(rendered))):
        first = _lines(text)[0]
        assert first.endswith(f"p = {ratio.p_value:.3g} — not a mismatch {RULE}")


def test_the_mismatch_is_the_run_s_always_valid_test_not_p_below_the_threshold() -> (
    None
):
    # χ² alone would call 296 of 1,000 a mismatch (p < 0.001); the run does not.
    near = sample_ratio_of(296, 704, 0.25)
    assert near.p_value < SRM_THRESHOLD and not near.mismatch
    off = sample_ratio_of(312, 688, 0.25)
    assert off.mismatch
    markdown = _lines(render_markdown(_with_ratio(off)))[0]
    assert f"— MISMATCH {RULE}" in markdown
    html = _lines(visible_text(render_html(_with_ratio(off))))[0]
    assert f"— mismatch {RULE}" in html
    assert "not a mismatch" in _lines(render_markdown(_with_ratio(near)))[0]


def test_every_stage_with_a_control_states_the_rule() -> None:
    text = render_markdown(report())
    lines = _lines(text)
    assert lines and all(RULE in line for line in lines), lines
