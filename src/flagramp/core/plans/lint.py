"""Warnings that do not stop a plan but point at something likely wrong.

The linter runs on a plan that loaded cleanly. It reads no clock and no store:
the caller may pass the flags' current percentages (`flag_states`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping

from flagramp.core.plans.criteria import NEEDS_CONTROL, NewErrorClassCriterion
from flagramp.core.plans.durations import Duration
from flagramp.core.plans.loader import LoadedPlan
from flagramp.core.plans.nodes import strings
from flagramp.core.plans.percentages import show_number
from flagramp.core.plans.phases import RolloutPhase
from flagramp.core.plans.plan import Plan
from flagramp.core.plans.problems import Finding, Level, Loc, Problem, sort_problems
from flagramp.core.plans.stages import Stage

#: Text left over from a template. `x`/`XX` only when it is the whole value.
PLACEHOLDERS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"lorem ipsum", re.I), "lorem ipsum"),
    (re.compile(r"link here", re.I), "link here"),
    (re.compile(r"^\s*x+\s*$", re.I), "x"),
    (re.compile(r"\bXX\b"), "XX"),
    (re.compile(r"mm/dd/yy", re.I), "mm/dd/yy"),
    (re.compile(r"\bTBD\b", re.I), "TBD"),
    (re.compile(r"\bTODO\b"), "TODO"),
    (re.compile(r"\[?PICK_ONE\]?", re.I), "PICK_ONE"),
    (re.compile(r"\bupdate here\b", re.I), "update here"),
)


def lint(
    loaded: LoadedPlan, flag_states: Mapping[str, float] | None = None
) -> list[Problem]:
    """Every warning for a loaded plan, in file order."""
    findings = [*placeholders(loaded), *check(loaded.plan, flag_states or {})]
    return sort_problems(loaded.place(f, Level.WARNING) for f in findings)


def placeholders(loaded: LoadedPlan) -> Iterator[Finding]:
    """Template text still in the plan: `lorem ipsum`, `link here`, `TBD`…"""
    for loc, node in strings(loaded.root):
        text = str(node.value)
        for pattern, label in PLACEHOLDERS:
            if pattern.search(text):
                yield Finding(
                    loc,
                    f"placeholder text {label!r} left in {text[:60]!r}",
                    "replace it with the real value",
                )
                break


def treatment_share(phase: RolloutPhase, stage: Stage) -> float:
    """Share (0–1) of the eligible, randomised users who get the flags at a stage."""
    return stage.percentage / 100 * (1 - phase.holdback / 100)


def check(plan: Plan, flag_states: Mapping[str, float]) -> Iterator[Finding]:
    """The model-level warnings (everything but placeholder text)."""
    for p, phase in plan.rollout_phases():
        here: Loc = ("phases", p)
        for f, flag in enumerate(phase.flags):
            if flag_states.get(flag, 0) >= 100:
                yield Finding(
                    (*here, "flags", f),
                    f"flag {flag!r} is already on for everyone",
                    "this phase would change nothing; drop it or turn the flag down",
                )
        yield from _go_no_go_before_full(here, phase)
        for s, stage in enumerate(phase.stages):
            loc = (*here, "stages", s)
            if not stage.criteria:
                yield Finding(
                    loc,
                    f"stage {stage.name!r} has no success criteria",
                    "it will advance on time alone; add criteria",
                )
            yield from _sample(plan, phase, stage, loc)
            yield from _control(phase, stage, loc)
    used = {flag for _, phase in plan.rollout_phases() for flag in phase.flags}
    for flag in plan.flags:
        if flag not in used:
            yield Finding(
                ("flags", flag), f"flag {flag!r} is declared but no phase uses it"
            )


def _go_no_go_before_full(here: Loc, phase: RolloutPhase) -> Iterator[Finding]:
    for s, stage in enumerate(phase.stages):
        if stage.percentage < 100:
            continue
        before = phase.stages[s - 1] if s else None
        if before is None:
            yield Finding(
                (*here, "stages", s),
                "the phase starts at 100 % with no go/no-go before it",
                "add a smaller stage with go_no_go before this one",
            )
        elif before.go_no_go is None:
            yield Finding(
                (*here, "stages", s - 1),
                f"no go/no-go before 100 %: stage {before.name!r} moves on by itself",
                "add go_no_go: [roles] to this stage",
            )
        return


def _sample(
    plan: Plan, phase: RolloutPhase, stage: Stage, loc: Loc
) -> Iterator[Finding]:
    traffic = plan.traffic
    share = treatment_share(phase, stage)
    if traffic is None or share == 0:
        return
    hold_minutes = stage.hold.seconds / 60
    wants = (
        (stage.min_sample, traffic.users_per_day, 1440, "users", "users/day"),
        (
            stage.min_requests,
            traffic.requests_per_minute,
            1,
            "requests",
            "requests/min",
        ),
    )
    for need, rate, per_minutes, noun, unit in wants:
        if need is None or rate is None:
            continue
        per_minute = rate / per_minutes * share
        reached = per_minute * hold_minutes
        if reached >= need:
            continue
        minutes = math.ceil(need / per_minute)
        yield Finding(
            (*loc, "hold"),
            f"hold {stage.hold} reaches about {math.floor(reached):,} of the "
            f"{need:,} {noun} needed at {show_number(rate)} {unit} and "
            f"{show_number(share * 100)} %",
            f"hold at least {Duration.of(minutes * 60)}",
        )


def _control(phase: RolloutPhase, stage: Stage, loc: Loc) -> Iterator[Finding]:
    share = treatment_share(phase, stage)
    for c, criterion in enumerate(stage.criteria):
        if criterion.kind not in NEEDS_CONTROL:
            continue
        here = (*loc, "criteria", c)
        if share >= 1:
            yield Finding(
                here,
                f"{criterion.kind} needs a control group, and at 100 % with no "
                "holdback none is left",
                "add a holdback to the phase, or use relative_to_baseline here",
            )
        elif share == 0:
            yield Finding(
                here,
                f"{criterion.kind} has no randomised treatment here: allow-listed "
                "users never enter a comparison",
                "use absolute or count criteria at an allow-list stage",
            )
        elif isinstance(criterion, NewErrorClassCriterion):
            k, f, alpha = criterion.min_users, criterion.fingerprints, criterion.alpha
            risk = f * share**k
            if risk > alpha:
                yield Finding(
                    here,
                    f"at a treatment share of {share:.3g} the new-error rule cannot "
                    f"hold α={alpha:g}: F·s^k = {f}·{share:.3g}^{k} = {risk:.3g}; "
                    f"it becomes weak from s ≥ {criterion.weak_from():.3g}",
                    "raise min_users, or use this rule only at smaller stages",
                )
