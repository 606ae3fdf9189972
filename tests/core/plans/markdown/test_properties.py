"""Properties: any text is read or refused in one line, a draft's only problems are
its TBDs, and a generated template plan's numbers all land where they were written."""

from __future__ import annotations

from dataclasses import dataclass

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from flagramp.core.plans import PlanInvalid, RolloutPhase, load_plan
from flagramp.core.plans.compose import compose
from flagramp.core.plans.markdown import TBD, DocumentUnreadable, import_markdown
from tests.core.plans.markdown.documents import FOUR_TOGGLES, SAMPLES, TWO_TOGGLES
from tests.core.plans.markdown.fill import fill

_PIECES = [
    "# Title", "## Phase I: toggle_name_one", "### Stage A: Canary", "#### Planning",
    "#### Results", "**Stage B: 25% of users**", "**Planning**",
    "- Percentage of users: 5%", "- Length of time: 2 hrs", "-Length of time: 1 day",
    "- Percentage of users: ", "- Types of errors logged: lorem ipsum",
    "- Number of users: 2 (Sample)", "### Define the Rollback process",
    "#### If a critical severity issue",
    "1. The feature toggle will be disabled for all users", "## Go Live!",
    "### 1-week results:", "- Post-launch KPI 1: error rate < 1%",
    "- [ ] A prerequisite", "| Toggle name | Description |", "| --- | --- |",
    "| `a_b_c` | x |", "## Post-launch Questions", "1. Why?", "  - nested", "> quote",
    "```", "---", "",
]  # fmt: skip

#: Lines of the template, of the test documents, and any text at all.
_LINES = sorted({*_PIECES, *(FOUR_TOGGLES + TWO_TOGGLES + SAMPLES).splitlines()})
lines = st.lists(st.one_of(st.sampled_from(_LINES), st.text(max_size=30)), max_size=60)


@settings(max_examples=100, deadline=None)
@given(lines)
def test_any_text_is_read_or_refused_in_one_line(parts: list[str]) -> None:
    text = "\n".join(parts)
    try:
        imported = import_markdown(text, "plan.md")
    except DocumentUnreadable as exc:
        assert "\n" not in str(exc)
        return
    root, problems = compose(imported.yaml, "draft.yaml")
    assert problems == [] and root is not None
    tbd_lines = {line for line, _ in imported.tbds}
    for line in tbd_lines:
        assert imported.yaml.splitlines()[line - 1].split("  # ")[0].endswith(TBD)
    try:
        load_plan(imported.yaml, "draft.yaml")
    except PlanInvalid as exc:
        # Every value the draft found is valid where it stands: only TBDs fail.
        assert {p.line for p in exc.problems} <= tbd_lines, exc
    else:
        raise AssertionError("a draft always has TBDs to decide")


@dataclass(frozen=True)
class _Stage:
    share: float | None
    hold: tuple[int, str] | None


_UNITS = {
    "hr": "h",
    "hrs": "h",
    "hours": "h",
    "minutes": "m",
    "days": "d",
    "weeks": "w",
}
stages = st.builds(
    _Stage,
    st.one_of(st.none(), st.decimals(0, 100, places=1).map(float)),
    st.one_of(
        st.none(), st.tuples(st.integers(1, 30), st.sampled_from(sorted(_UNITS)))
    ),
)
phases = st.lists(st.lists(stages, min_size=1, max_size=4), min_size=1, max_size=3)


def _document(plan: list[list[_Stage]]) -> str:
    out = ["# Generated - Release Plan", ""]
    for p, phase in enumerate(plan):
        out += [f"## Phase {p + 1}: generated_toggle_{p}", ""]
        for s, stage in enumerate(phase):
            share = "" if stage.share is None else f"{stage.share:g}%"
            hold = "" if stage.hold is None else f"{stage.hold[0]} {stage.hold[1]}"
            out += [
                f"### Stage {'ABCD'[s]}: step",
                "",
                "#### Planning",
                "",
                f"- Percentage of users: {share}",
                f"- Length of time: {hold}",
                "",
            ]
    return "\n".join(out)


@settings(max_examples=40, deadline=None)
@given(phases)
def test_every_share_and_hold_lands_in_its_field_and_every_blank_is_a_tbd(
    plan: list[list[_Stage]],
) -> None:
    document = _document(plan)
    imported = import_markdown(document, "plan.md")
    data = yaml.safe_load(imported.yaml)
    assert len(data["phases"]) == len(plan)
    for p, phase in enumerate(plan):
        written = data["phases"][p]["stages"]
        assert data["phases"][p]["flags"] == [f"generated_toggle_{p}"]
        for s, stage in enumerate(phase):
            share = TBD if stage.share is None else stage.share
            assert written[s]["percentage"] == share
            hold = (
                TBD if stage.hold is None else f"{stage.hold[0]}{_UNITS[stage.hold[1]]}"
            )
            assert written[s]["hold"] == hold
            comment = imported.comment(f"phases[{p}].stages[{s}].percentage")
            typed = "" if stage.share is None else f"{stage.share:g}%"
            line = document.splitlines().index(
                f"- Percentage of users: {typed}", _stage_start(document, p, s)
            )
            assert f"plan.md:{line + 1}" in comment


@settings(max_examples=25, deadline=None)
@given(phases)
def test_a_generated_plan_validates_once_its_tbds_are_filled(
    plan: list[list[_Stage]],
) -> None:
    # Shares that never fall within a phase, as a valid plan must have them, and
    # at least 1 % (0 % is a UAT stage, which needs an allow list).
    ordered = []
    for phase in plan:
        shares = iter(sorted(max(s.share, 1.0) for s in phase if s.share is not None))
        ordered.append(
            [_Stage(None if s.share is None else next(shares), s.hold) for s in phase]
        )
    imported = import_markdown(_document(ordered), "plan.md")
    loaded = load_plan(fill(imported), "draft.yaml")
    found = [p for p in loaded.plan.phases if isinstance(p, RolloutPhase)]
    assert [len(p.stages) for p in found] == [len(p) for p in ordered]


def _stage_start(document: str, phase: int, stage: int) -> int:
    lines = document.splitlines()
    start = lines.index(f"## Phase {phase + 1}: generated_toggle_{phase}")
    return lines.index(f"### Stage {'ABCD'[stage]}: step", start)
