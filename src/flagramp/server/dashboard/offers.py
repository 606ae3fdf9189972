"""What the dashboard offers a person: only what their token may do.

Each dashboard action stands for one `/api/v1` route, and whether a token may
do it is that route's own `Access` rule, read from the permission matrix
(`server.matrix.route_table`), so a page never offers a form the API would
refuse, and a change to the matrix changes the pages with it. The action
handlers check the same rule again (`require`): hiding a form is no defence.

Run commands stand for their `/api/v1/runs/{run}/…` routes like the rest;
beyond the token's permission, the engine checks the person's plan role.
"""

from __future__ import annotations

import functools
from enum import StrEnum

from flagramp.server.identity import Access, Identity
from flagramp.server.matrix import route_table


class Action(StrEnum):
    """Something a person can do from the dashboard."""

    FLAG_ENABLE = "flag_enable"
    FLAG_DISABLE = "flag_disable"
    FLAG_PERCENTAGE = "flag_percentage"
    FLAG_EXPLAIN = "flag_explain"
    RUN_VOTE = "run_vote"
    RUN_KILL = "run_kill"
    RUN_PAUSE = "run_pause"
    RUN_RESUME = "run_resume"


#: The API route each action stands for (method, path as the matrix names it).
ROUTES: dict[Action, tuple[str, str]] = {
    Action.FLAG_ENABLE: ("POST", "/api/v1/flags/{key:path}/enable"),
    Action.FLAG_DISABLE: ("POST", "/api/v1/flags/{key:path}/disable"),
    Action.FLAG_PERCENTAGE: ("PUT", "/api/v1/flags/{key:path}/percentage"),
    Action.FLAG_EXPLAIN: ("POST", "/api/v1/flags/{key:path}/evaluate"),
    Action.RUN_VOTE: ("POST", "/api/v1/runs/{run}/vote"),
    Action.RUN_KILL: ("POST", "/api/v1/runs/{run}/kill"),
    Action.RUN_PAUSE: ("POST", "/api/v1/runs/{run}/pause"),
    Action.RUN_RESUME: ("POST", "/api/v1/runs/{run}/resume"),
}


@functools.cache
def access_of(action: Action) -> Access:
    """The access rule of the route `action` stands for."""
    method, path = ROUTES[action]
    for rule in route_table():
        if rule.method == method and rule.path == path:
            if rule.access is None:
                raise LookupError(
                    f"{method} {path} is open; the dashboard needs a rule"
                )
            return rule.access
    raise LookupError(f"the route table has no {method} {path}")


def may(identity: Identity, action: Action) -> bool:
    """Whether this caller may do `action` (SDK tokens never use the dashboard)."""
    return not identity.is_sdk and access_of(action).allows(identity.token)


def offers(identity: Identity) -> dict[str, bool]:
    """Every action by name, and whether it is offered: for the templates."""
    return {action.value: may(identity, action) for action in Action}
