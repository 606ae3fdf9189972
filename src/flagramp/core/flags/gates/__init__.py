"""Gates in Flipper's order, and flagramp's blocking rules before them."""

from __future__ import annotations

from flagramp.core.flags.gates.actor import ActorGate
from flagramp.core.flags.gates.base import (
    Blocker,
    CheckContext,
    CompileEnv,
    Gate,
    Predicate,
)
from flagramp.core.flags.gates.boolean import BooleanGate
from flagramp.core.flags.gates.deny import DenyRule
from flagramp.core.flags.gates.eligibility import EligibilityRule
from flagramp.core.flags.gates.expression import ExpressionGate
from flagramp.core.flags.gates.group import GroupGate
from flagramp.core.flags.gates.percentage_of_actors import PercentageOfActorsGate
from flagramp.core.flags.gates.percentage_of_time import PercentageOfTimeGate

DENY = DenyRule()
ELIGIBILITY = EligibilityRule()

#: Checked first; any one keeps the flag off. Deny before eligibility so that the
#: explanation names the deny list when both apply.
BLOCKERS: tuple[Blocker, ...] = (DENY, ELIGIBILITY)

#: Flipper's gate order (main): the first open gate decides. Do not reorder:
#: `explain` must name the same gate Ruby Flipper would.
GATES: tuple[Gate, ...] = (
    BooleanGate(),
    ExpressionGate(),
    ActorGate(),
    PercentageOfActorsGate(),
    PercentageOfTimeGate(),
    GroupGate(),
)

__all__ = [
    "BLOCKERS",
    "DENY",
    "ELIGIBILITY",
    "GATES",
    "Blocker",
    "CheckContext",
    "CompileEnv",
    "Gate",
    "Predicate",
]
