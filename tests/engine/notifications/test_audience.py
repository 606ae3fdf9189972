"""Who a notice reaches: the plan's notifications by topic, and who must act."""

from __future__ import annotations

from pathlib import Path

import pytest

from flagramp.core.plans import Plan, load_plan
from flagramp.engine.notifications.audience import TOPICS, roles_to_reach
from flagramp.engine.notify import NoticeKind
from tests.core.plans.sample import BASE

EXAMPLES = Path(__file__).parents[3] / "examples"


def example(name: str) -> Plan:
    return load_plan((EXAMPLES / name).read_text(encoding="utf-8"), name).plan


def with_notifications(text: str) -> Plan:
    return load_plan(BASE + text, "plan.yaml").plan


def test_every_kind_has_a_topic_entry() -> None:
    assert set(TOPICS) == set(NoticeKind)


def test_seed_004_mails_everyone_involved_about_every_topic() -> None:
    plan = example("tmp-deployment.yaml")
    reached = roles_to_reach(plan, NoticeKind.PROMOTION_STEP)
    assert [role.role for role in reached] == list(plan.notifications[0].email)
    assert reached[0].people == plan.roles["om_team"].people
    assert roles_to_reach(plan, NoticeKind.DELIVERY_FAILED) == ()


def test_a_plan_without_notifications_reaches_only_who_must_act() -> None:
    plan = example("vaos-service-integration.yaml")
    assert plan.notifications == ()
    reached = roles_to_reach(
        plan, NoticeKind.NEEDS_PERSON, also=("product_owner", "nobody", "eng_lead")
    )
    assert [(r.role, r.people) for r in reached] == [
        ("product_owner", ("vaos-product-owner@va.gov",)),
        ("eng_lead", ("vaos-eng-lead@va.gov",)),
    ]


@pytest.mark.parametrize(
    ("kind", "roles"),
    [
        (NoticeKind.ROLLED_BACK, ["eng", "po"]),
        (NoticeKind.KILLED, ["eng", "po"]),
        (NoticeKind.PAUSED, ["eng"]),
        (NoticeKind.COMPLETED, ["eng"]),
    ],
)
def test_topics_choose_the_roles(kind: NoticeKind, roles: list[str]) -> None:
    plan = with_notifications(
        "notifications:\n"
        "  - {email: [eng]}\n"
        "  - {email: [po, eng], about: [rollback]}\n"
    )
    assert [role.role for role in roles_to_reach(plan, kind)] == roles
