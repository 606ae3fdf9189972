"""Who holds which plan role, and who is asked or reached for what."""

from __future__ import annotations

from collections.abc import Iterable

from flagramp.core.plans import Plan, RolloutPhase, Signature


def people_of(plan: Plan, roles: Iterable[str]) -> tuple[str, ...]:
    """The people of the roles, each once, in the plan's order."""
    found: list[str] = []
    for role in roles:
        held = plan.roles.get(role)
        if held is not None:
            found.extend(p for p in held.people if p not in found)
    return tuple(found)


def holds(plan: Plan, person: str, role: str) -> bool:
    """Whether the person is one of the role's people."""
    held = plan.roles.get(role)
    return held is not None and person in held.people


def holds_any(plan: Plan, person: str, roles: Iterable[str]) -> bool:
    return any(holds(plan, person, r) for r in roles)


def in_plan(plan: Plan, person: str) -> bool:
    """Whether the person holds any role of the plan."""
    return holds_any(plan, person, plan.roles)


def leads(plan: Plan) -> tuple[str, ...]:
    """The owner and the product owner roles."""
    return tuple(dict.fromkeys((plan.owner, plan.product_owner)))


def kill_roles(plan: Plan) -> tuple[str, ...]:
    """Roles that may pull the kill switch: the policy's, on call, or signing it."""
    named = plan.rollback.kill_switch if plan.rollback else ()
    extra = (
        name
        for name, role in plan.roles.items()
        if role.on_call or Signature.KILL_SWITCH in role.signs
    )
    return tuple(dict.fromkeys((*named, *extra)))


def re_enable_roles(plan: Plan) -> tuple[str, ...]:
    """Roles that approve re-enabling (the product owner if the plan names none)."""
    policy = plan.rollback.re_enable if plan.rollback else None
    return policy.approved_by if policy else (plan.product_owner,)


def revert_roles(plan: Plan) -> tuple[str, ...]:
    """Roles that confirm a revert is deployed (those signing `revert` otherwise)."""
    if plan.rollback and plan.rollback.revert_confirmed_by:
        return plan.rollback.revert_confirmed_by
    return tuple(n for n, r in plan.roles.items() if Signature.REVERT in r.signs)


def pause_roles(plan: Plan, phase: int, stage: int | None) -> tuple[str, ...]:
    """Who a pause asks: the stage's go/no-go roles, else the product owner."""
    part = plan.phases[phase] if phase < len(plan.phases) else None
    if (
        isinstance(part, RolloutPhase)
        and stage is not None
        and stage < len(part.stages)
    ):
        gate = part.stages[stage].go_no_go
        if gate is not None:
            return gate.roles
    return (plan.product_owner,)
