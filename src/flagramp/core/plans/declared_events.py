"""The events an application sends, declared so that metrics can only name real ones.

A plan lists every event name its metrics use. A misspelt name in a metric is then
an error when the plan is checked, not a metric that silently stays at zero for the
whole rollout. Two kinds:

- `request`: a request outcome (status, latency, error fingerprint). A failed
  request also counts under `<name>_failed` (see `core.events.FAILED_SUFFIX`), so a
  plan's error rate is `ratio(sm_request_failed, sm_request)` and `sm_request_failed`
  needs no declaration of its own.
- `business`: a product event (abandon, message sent, CSAT score). With
  `actor: false` it carries no actor (seed 000's contact-center calls): it counts
  for the whole environment, not for a variant, so only `count` metrics use it.
"""

from __future__ import annotations

from enum import StrEnum

from flagramp.core.events import FAILED_SUFFIX
from flagramp.core.plans.base import PlanModel, Text


class EventKind(StrEnum):
    """What kind of event the application sends under a name."""

    REQUEST = "request"
    BUSINESS = "business"


#: The request fields a metric's `value` can read; business events read their
#: numeric attribute of that name, else their `value`.
REQUEST_VALUES = frozenset({"latency_ms", "status"})


class EventDecl(PlanModel):
    """One event name the application sends."""

    kind: EventKind
    actor: bool = True
    """False for events without an actor: they count for the whole environment."""
    description: Text | None = None


def resolve_event(
    events: dict[str, EventDecl], name: str
) -> tuple[EventDecl, bool] | None:
    """The declaration behind an event name, and whether it is the failed form.

    `sm_request_failed` resolves to the `sm_request` request event (True); a
    declared name resolves to itself (False); anything else to None.
    """
    declared = events.get(name)
    if declared is not None:
        return declared, False
    if name.endswith(FAILED_SUFFIX):
        base = events.get(name.removesuffix(FAILED_SUFFIX))
        if base is not None and base.kind is EventKind.REQUEST:
            return base, True
    return None
