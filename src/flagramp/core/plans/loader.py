"""Load a plan: YAML text → nodes → model → cross-field checks, all problems at once.

The loader does no I/O: the caller reads the file and passes its text and name.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from pydantic import ValidationError

from flagramp.core.plans.compose import compose
from flagramp.core.plans.nodes import (
    MappingNode,
    Node,
    flatten_lists,
    key_mark,
    locate,
    to_data,
)
from flagramp.core.plans.plan import Plan
from flagramp.core.plans.problems import (
    Finding,
    Level,
    PlanInvalid,
    PlanTooLarge,
    Problem,
    format_loc,
    sort_problems,
)
from flagramp.core.plans.translate import TAGS, problems_from
from flagramp.core.plans.validate import check

#: Top-level keys with this prefix hold the author's anchors and are ignored.
EXTENSION_PREFIX = "x-"


@dataclass(frozen=True)
class LoadedPlan:
    """A valid plan with the nodes it was read from, to place later findings."""

    plan: Plan
    file: str
    root: Node

    def place(self, finding: Finding, level: Level = Level.ERROR) -> Problem:
        """Turn a finding on this plan into a problem at its line and column."""
        return place(self.file, self.root, finding, level)


def place(
    file: str, root: Node, finding: Finding, level: Level = Level.ERROR
) -> Problem:
    """A finding as a problem with the file position of its path."""
    mark = key_mark(root, finding.loc) if finding.at_key else None
    mark = mark or locate(root, finding.loc, TAGS)
    return Problem(
        file,
        mark.line,
        mark.column,
        format_loc(finding.loc),
        finding.message,
        finding.hint,
        level,
    )


def load_plan(text: str, file: str = "plan.yaml") -> LoadedPlan:
    """Read and check a plan; raises PlanInvalid listing every problem found."""
    root, problems = compose(text, file)
    if root is None and not problems:
        empty = Problem(
            file, 1, 1, "", "the plan is empty", "start from `flagramp plan new`"
        )
        raise PlanInvalid([empty])
    if root is None:
        too_big = any(
            "at most" in p.message or "more than" in p.message for p in problems
        )
        raise (PlanTooLarge if too_big else PlanInvalid)(sort_problems(problems))
    if not isinstance(root, MappingNode):
        what = "empty" if to_data(root) is None else "not a mapping of fields"
        problems.append(
            Problem(
                file,
                root.mark.line,
                root.mark.column,
                "",
                f"the plan is {what}",
                "start from `flagramp plan new`",
            )
        )
        raise PlanInvalid(sort_problems(problems))
    flatten_lists(root, "criteria")
    data = to_data(root)
    assert isinstance(data, dict)
    # Top-level `x-` keys are for the author (YAML anchors to share); skip them.
    data = {k: v for k, v in data.items() if not k.startswith(EXTENSION_PREFIX)}
    try:
        plan = Plan.model_validate(data)
    except ValidationError as exc:
        problems.extend(_field_problems(file, root, exc))
        raise PlanInvalid(sort_problems(problems)) from None
    problems.extend(place(file, root, f) for f in check(plan))
    if problems:
        raise PlanInvalid(sort_problems(problems))
    return LoadedPlan(plan, file, root)


def _field_problems(file: str, root: Node, exc: ValidationError) -> Iterable[Problem]:
    for loc, message, hint, at_key in problems_from(exc, root):
        if loc and loc[-1] == "[key]":
            loc, at_key = loc[:-1], True
        yield place(file, root, Finding(loc, message, hint, at_key))
