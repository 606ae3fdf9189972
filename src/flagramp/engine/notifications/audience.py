"""Who a notice reaches by e-mail: the plan's `notifications` and the roles that
must act.

A plan's `notifications` name roles and topics (seed 004: status e-mails to
everyone involved); each notice kind belongs to one topic. The roles a notice
asks to act (the go/no-go roles, the re-enable approver) are reached too,
whatever the plan's list says: a person asked to decide must hear of it.
"""

from __future__ import annotations

from collections.abc import Iterable

from flagramp.core.plans import Plan, Topic
from flagramp.engine.notify import NoticeKind, NoticeRole

#: The plan topic of each notice kind (a delivery failure is no plan's topic).
TOPICS: dict[NoticeKind, Topic | None] = {
    NoticeKind.NEEDS_PERSON: Topic.DECISION_NEEDED,
    NoticeKind.PAUSED: Topic.PAUSE,
    NoticeKind.ROLLED_BACK: Topic.ROLLBACK,
    NoticeKind.KILLED: Topic.ROLLBACK,
    NoticeKind.RESUMED: Topic.STAGE,
    NoticeKind.COMPLETED: Topic.STAGE,
    NoticeKind.CHECKPOINT: Topic.CHECKPOINT,
    NoticeKind.PROMOTION_STEP: Topic.PROMOTION,
    NoticeKind.DELIVERY_FAILED: None,
}


def roles_to_reach(
    plan: Plan, kind: NoticeKind, *, also: Iterable[str] = ()
) -> tuple[NoticeRole, ...]:
    """The roles (with their people) a notice of `kind` reaches: those the plan's
    notifications name for its topic, then `also`; each role once, in that order.
    Roles the plan does not have are left out."""
    topic = TOPICS[kind]
    names: list[str] = []
    if topic is not None:
        for notification in plan.notifications:
            if not notification.about or topic in notification.about:
                names += notification.email
    names += also
    return tuple(
        NoticeRole(name, plan.roles[name].people)
        for name in dict.fromkeys(names)
        if name in plan.roles
    )
