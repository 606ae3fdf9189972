"""What a revision changes, in words; changes that weaken a running plan are flagged.

A running plan is revised by a new version, never edited in place. Two kinds of
change are flagged: removing a success criterion (a stage would let through what
it used to stop) and lowering a percentage below a stage the run already passed
(the revision would silently turn the flag off for users who have it).
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass

from pydantic import BaseModel

from flagramp.core.plans.criteria import Criterion
from flagramp.core.plans.percentages import show_number
from flagramp.core.plans.phases import RolloutPhase
from flagramp.core.plans.plan import Plan
from flagramp.core.plans.rollback import RollbackPolicy
from flagramp.core.plans.stages import Stage

#: A stage the run has passed: (phase name, stage name).
StageRef = tuple[str, str]

#: Plan fields compared value for value and reported by name only.
_SCALARS = ("title", "owner", "product_owner", "environment", "status", "hypothesis")
_SECTIONS = (
    "links", "traffic", "segments", "events", "environments", "milestones",
    "promotion", "go_live", "alerts", "notifications", "risks",
)  # fmt: skip
_STAGE_FIELDS = (
    "hold", "min_sample", "min_requests", "max_time", "alpha", "beta", "go_no_go",
    "record",
)  # fmt: skip
_PHASE_FIELDS = (
    "flags", "shared_users", "audience", "holdback", "holdback_until", "window",
    "time_of_day", "go_no_go", "watched_until",
)  # fmt: skip
_ROLLBACK_FIELDS = (
    "re_enable", "revert_confirmed_by", "kill_switch", "procedure", "monitored_by",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Change:
    """One change between two revisions of a plan."""

    where: str
    text: str
    flagged: bool = False
    reason: str = ""

    def __str__(self) -> str:
        mark = "!" if self.flagged else "-"
        note = f"  [{self.reason}]" if self.flagged else ""
        return f"{mark} {self.where}: {self.text}{note}"


def diff(old: Plan, new: Plan, passed: Collection[StageRef] = ()) -> list[Change]:
    """Every change from `old` to `new`; `passed` names stages the run has passed."""
    return list(_diff(old, new, frozenset(passed)))


def _diff(old: Plan, new: Plan, passed: frozenset[StageRef]) -> Iterator[Change]:
    if old.revision != new.revision:
        yield Change("plan", f"revision {old.revision} → {new.revision}")
    for name in _SCALARS:
        before, after = getattr(old, name), getattr(new, name)
        if before != after:
            yield Change("plan", f"{name} changed from {before!r} to {after!r}")
    yield from _mapping("roles", old.roles, new.roles)
    yield from _mapping("flags", old.flags, new.flags)
    yield from _mapping("metrics", old.metrics, new.metrics)
    before_items = {p.text for p in old.prerequisites}
    after_items = {p.text for p in new.prerequisites}
    for text in sorted(after_items - before_items):
        yield Change("prerequisites", f"added {text!r}")
    for text in sorted(before_items - after_items):
        yield Change("prerequisites", f"removed {text!r}")
    yield from _phases(old, new, passed)
    yield from _rollback(old.rollback, new.rollback)
    for name in _SECTIONS:
        if getattr(old, name) != getattr(new, name):
            yield Change(name, "changed")


def _rollback(
    old: RollbackPolicy | None, new: RollbackPolicy | None
) -> Iterator[Change]:
    if old == new:
        return
    if old is None or new is None:
        yield Change("rollback", "added" if old is None else "removed")
        return
    for severity in sorted({*old.severities, *new.severities}):
        a = old.severities.get(severity)
        b = new.severities.get(severity)
        if a != b:
            yield Change("rollback", f"{severity.value}: {_policy(a)} → {_policy(b)}")
    for name in _ROLLBACK_FIELDS:
        if getattr(old, name) != getattr(new, name):
            shown = "re-enable" if name == "re_enable" else name
            yield Change("rollback", f"{shown} changed")


def _policy(policy: BaseModel | None) -> str:
    return "none" if policy is None else str(getattr(policy, "action").value)  # noqa: B009


def _mapping(
    section: str, old: Mapping[str, BaseModel], new: Mapping[str, BaseModel]
) -> Iterator[Change]:
    for name in new:
        if name not in old:
            yield Change(section, f"added {name!r}")
        elif old[name] != new[name]:
            yield Change(section, f"{name!r} changed")
    for name in old:
        if name not in new:
            yield Change(section, f"removed {name!r}")


def _phases(old: Plan, new: Plan, passed: frozenset[StageRef]) -> Iterator[Change]:
    old_phases = {p.name: p for p in old.phases}
    new_phases = {p.name: p for p in new.phases}
    for name in new_phases:
        if name not in old_phases:
            yield Change(f"phase {name!r}", "added")
    for name in old_phases:
        if name not in new_phases:
            flagged = any(p == name for p, _ in passed)
            yield Change(
                f"phase {name!r}",
                "removed",
                flagged,
                "it has stages the run already passed" if flagged else "",
            )
    order_old = [n for n in old_phases if n in new_phases]
    order_new = [n for n in new_phases if n in old_phases]
    if order_old != order_new:
        yield Change("phases", f"order {order_old} → {order_new}")
    for name, after in new_phases.items():
        before = old_phases.get(name)
        if before is None:
            continue
        if type(before) is not type(after):
            yield Change(f"phase {name!r}", f"kind {before.kind} → {after.kind}")
            continue
        if not isinstance(before, RolloutPhase) or not isinstance(after, RolloutPhase):
            if before != after:
                yield Change(f"phase {name!r}", "changed")
            continue
        for field in _PHASE_FIELDS:
            a, b = getattr(before, field), getattr(after, field)
            if a != b:
                yield Change(f"phase {name!r}", f"{field} {_show(a)} → {_show(b)}")
        yield from _stages(before, after, passed)


def _stages(
    old: RolloutPhase, new: RolloutPhase, passed: frozenset[StageRef]
) -> Iterator[Change]:
    old_stages = {s.name: s for s in old.stages}
    new_stages = {s.name: s for s in new.stages}
    passed_here = [
        old_stages[s] for p, s in passed if p == old.name and s in old_stages
    ]
    floor = max((s.percentage for s in passed_here), default=None)
    for stage in new.stages:
        where = f"phase {new.name!r}, stage {stage.name!r}"
        before = old_stages.get(stage.name)
        if before is None:
            yield Change(where, f"added at {show_number(stage.percentage)} %")
            if floor is not None and stage.percentage < floor:
                yield _below(where, stage.percentage, floor, passed_here)
            continue
        yield from _stage(where, before, stage)
        if (
            floor is not None
            and stage.percentage < floor
            and (stage.percentage < before.percentage)
        ):
            yield _below(where, stage.percentage, floor, passed_here)
    for stage in old.stages:
        if stage.name not in new_stages:
            where = f"phase {old.name!r}, stage {stage.name!r}"
            reasons = []
            if stage.criteria:
                reasons.append(f"removes its {len(stage.criteria)} criteria")
            if (old.name, stage.name) in passed:
                reasons.append("the run already passed it")
            yield Change(where, "removed", bool(reasons), "; ".join(reasons))


def _stage(where: str, old: Stage, new: Stage) -> Iterator[Change]:
    if old.percentage != new.percentage:
        yield Change(
            where,
            f"percentage {show_number(old.percentage)} → {show_number(new.percentage)}",
        )
    for field in _STAGE_FIELDS:
        a, b = getattr(old, field), getattr(new, field)
        if a != b:
            yield Change(where, f"{field} {_show(a)} → {_show(b)}")
    old_criteria = _by_label(old.criteria)
    new_criteria = _by_label(new.criteria)
    for label, criterion in new_criteria.items():
        before = old_criteria.get(label)
        if before is None:
            yield Change(where, f"criterion added: {criterion.describe()}")
        elif before != criterion:
            yield Change(
                where, f"criterion changed: {_criterion_change(before, criterion)}"
            )
    for label, criterion in old_criteria.items():
        if label not in new_criteria:
            yield Change(
                where,
                f"criterion removed: {criterion.describe()}",
                True,
                "removing a criterion lets through what it used to stop",
            )


def _criterion_change(old: Criterion, new: Criterion) -> str:
    if old.describe() != new.describe():
        return f"{old.describe()} → {new.describe()}"
    # Same rule in words (an mde, a count's scale): name the fields that differ.
    a, b = old.model_dump(mode="json"), new.model_dump(mode="json")
    fields = ", ".join(
        f"{k} {_show(a.get(k))} → {_show(b.get(k))}"
        for k in sorted({*a, *b})
        if a.get(k) != b.get(k)
    )
    return f"{new.describe()}: {fields}"


def _below(where: str, pct: float, floor: float, passed: list[Stage]) -> Change:
    top = max(passed, key=lambda s: s.percentage)
    return Change(
        where,
        f"percentage {show_number(pct)} is below passed stage {top.name!r} "
        f"({show_number(floor)} %)",
        True,
        "the revision would turn the flag off for users who have it",
    )


def _by_label(criteria: tuple[Criterion, ...]) -> dict[str, Criterion]:
    out: dict[str, Criterion] = {}
    for criterion in criteria:
        label = criterion.label
        n = 2
        while label in out:  # two criteria on one metric: number them
            label, n = f"{criterion.label}#{n}", n + 1
        out[label] = criterion
    return out


def _show(value: object) -> str:
    if value is None:
        return "none"
    if isinstance(value, float):
        return show_number(value)
    if isinstance(value, tuple | list):
        return "[" + ", ".join(_show(v) for v in value) + "]"
    if isinstance(value, BaseModel):
        return (
            "{"
            + ", ".join(
                f"{k}: {_show(v)}"
                for k, v in value.model_dump(exclude_defaults=True, mode="json").items()
            )
            + "}"
        )
    return str(value)
