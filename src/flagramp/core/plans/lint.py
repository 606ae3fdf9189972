"""Warnings that do not stop a plan but point at something likely wrong.

The linter runs on a plan that loaded cleanly. It reads no clock and no store:
the caller may pass the flags' current percentages (`flag_states`) and a
function that says what a stage can detect (`detectable_effect`, see
`core.plans.detectability`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Iterator, Mapping

from flagramp.core.plans.compose import compose
from flagramp.core.plans.criteria import MAX_NEW_ERROR_USERS, NewErrorClassCriterion
from flagramp.core.plans.detectability import DetectableEffect, detectability, findings
from flagramp.core.plans.durations import Duration
from flagramp.core.plans.loader import LoadedPlan, place
from flagramp.core.plans.nodes import Node, strings
from flagramp.core.plans.percentages import show_number
from flagramp.core.plans.phases import RolloutPhase
from flagramp.core.plans.plan import Plan
from flagramp.core.plans.problems import Finding, Level, Loc, Problem, sort_problems
from flagramp.core.plans.semantics import (
    alpha_share,
    entry_gates,
    is_allow_list_stage,
    stage_exit,
    treatment_share,
)
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
#: The fewest new fingerprints the statistics plan for (`NoveltyBudget`'s
#: minimum when F comes from the baseline), and the share of the rule's α they
#: get (the rest is the reserve for fingerprints beyond F).
MIN_FINGERPRINTS = 20
PLANNED_SHARE = 0.9


def lint(
    loaded: LoadedPlan,
    flag_states: Mapping[str, float] | None = None,
    detectable_effect: DetectableEffect | None = None,
) -> list[Problem]:
    """Every warning for a loaded plan, in file order."""
    found = [*placeholders(loaded), *check(loaded.plan, flag_states or {})]
    if detectable_effect is not None:
        found.extend(findings(detectability(loaded.plan, detectable_effect)))
    return sort_problems(loaded.place(f, Level.WARNING) for f in found)


def placeholders(loaded: LoadedPlan) -> Iterator[Finding]:
    """Template text still in the plan: `lorem ipsum`, `link here`, `TBD`…"""
    return placeholders_in(loaded.root)


def unloaded_placeholders(
    text: str, file: str, errors: Iterable[Problem]
) -> list[Problem]:
    """Placeholder warnings for a plan that does not load yet, where no error is.

    A draft from `plan import-markdown` is full of `TBD`s: those in numbers,
    dates and lists are errors, those in text and names only placeholders; with
    both, one `plan lint` run lists everything left to decide.
    """
    root, _ = compose(text, file)
    if root is None:
        return []
    taken = {(p.line, p.column) for p in errors}
    found = (place(file, root, f, Level.WARNING) for f in placeholders_in(root))
    return [p for p in found if (p.line, p.column) not in taken]


def placeholders_in(root: Node) -> Iterator[Finding]:
    """Template text under a node of a plan, loaded or not."""
    for loc, node in strings(root):
        text = str(node.value)
        for pattern, label in PLACEHOLDERS:
            if pattern.search(text):
                yield Finding(
                    loc,
                    f"placeholder text {label!r} left in {text[:60]!r}",
                    "replace it with the real value",
                )
                break


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
        if len(phase.flags) > 1 and not phase.shared_users:
            yield Finding(
                (*here, "flags"),
                "flags launched together get different users: each flag buckets "
                "on its own key",
                "add shared_users: true (flagramp's own store), or give each flag "
                "its own phase",
            )
        yield from _go_no_go_before_full(plan, p, phase)
        for s, stage in enumerate(phase.stages):
            loc = (*here, "stages", s)
            if not stage.criteria:
                yield Finding(
                    loc,
                    f"stage {stage.name!r} has no success criteria",
                    "it will advance on time alone; add criteria",
                )
            yield from _sample(plan, phase, stage, loc)
            yield from _new_errors(phase, stage, loc)
    used = {flag for _, phase in plan.rollout_phases() for flag in phase.flags}
    for flag in plan.flags:
        if flag not in used:
            yield Finding(
                ("flags", flag), f"flag {flag!r} is declared but no phase uses it"
            )


def _go_no_go_before_full(plan: Plan, p: int, phase: RolloutPhase) -> Iterator[Finding]:
    here: Loc = ("phases", p)
    for s, stage in enumerate(phase.stages):
        if stage.percentage < 100:
            continue
        if s == 0:
            if not entry_gates(plan, p):
                yield Finding(
                    (*here, "stages", s),
                    "the phase starts at 100 % with no go/no-go before it",
                    "add go_no_go to the phase, or a smaller stage before this one",
                )
        elif not stage_exit(plan, p, s - 1).gates:
            before = phase.stages[s - 1]
            yield Finding(
                (*here, "stages", s - 1),
                f"no go/no-go before 100 %: stage {before.name!r} moves on by itself",
                "add go_no_go: [roles] to this stage (or go_live.go_no_go)",
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
        minutes = min(math.ceil(need / per_minute), 730 * 1440)
        yield Finding(
            (*loc, "hold"),
            f"hold {stage.hold} reaches about {math.floor(reached):,} of the "
            f"{need:,} {noun} needed at {show_number(rate)} {unit} and "
            f"{show_number(share * 100)} %",
            f"hold at least {Duration.of(minutes * 60)}",
        )


def users_needed(fingerprints: float, share: float, alpha: float) -> int:
    """The smallest k with fingerprints · share^k ≤ alpha.

    The same rule as `stats.novelty.users_needed` (a test pins that they agree);
    core cannot import stats.
    """
    limit = alpha * (1.0 + 1e-9)
    k = max(1, math.ceil(math.log(alpha / fingerprints) / math.log(share)))
    while fingerprints * share**k > limit:
        k += 1
    while k > 1 and fingerprints * share ** (k - 1) <= limit:
        k -= 1
    return k


def _new_errors(phase: RolloutPhase, stage: Stage, loc: Loc) -> Iterator[Finding]:
    share = treatment_share(phase, stage)
    if is_allow_list_stage(stage) or not 0 < share < 1:
        return
    for c, criterion in enumerate(stage.criteria):
        if not isinstance(criterion, NewErrorClassCriterion):
            continue
        alpha = alpha_share(stage, c) * PLANNED_SHARE
        planned = criterion.fingerprints or MIN_FINGERPRINTS
        k = users_needed(planned, share, alpha)
        if k > MAX_NEW_ERROR_USERS:
            yield Finding(
                (*loc, "criteria", c),
                f"the new-error rule switches off at a treatment share of "
                f"{show_number(round(share, 4))}: with F = {planned} fingerprints "
                f"and α = {alpha:.3g} it would need {k} users (at most "
                f"{MAX_NEW_ERROR_USERS})",
                "keep this rule to smaller stages, or add a holdback and compare "
                "with control",
            )
