"""Seed 002's post-launch questions, answered from a month of fast aggregates."""

from __future__ import annotations

import numpy as np
import pytest

from flagramp.core.events import DeviceClass
from flagramp.sim import ON, FlagState, SpanAggregate, span_aggregate
from flagramp.sim.examples import SM_FLAGS, SM_TESTERS, secure_messaging_world
from tests.sim.worlds import MONDAY

DAY = 1440


@pytest.fixture(scope="module")
def month() -> tuple[SpanAggregate, SpanAggregate]:
    world = secure_messaging_world(users=30_000, requests_per_minute=40.0)
    states = tuple(
        FlagState(f, 100.0, allow_list=SM_TESTERS, bucket_key="sm") for f in SM_FLAGS
    )
    days = [
        span_aggregate(
            5,
            world,
            MONDAY + d * DAY,
            MONDAY + (d + 1) * DAY,
            states,
            report=SM_FLAGS[:1],
        )
        for d in range(28)
    ]
    week = days[0]
    for d in days[1:7]:
        week = week.merge(d)
    whole = week
    for d in days[7:]:
        whole = whole.merge(d)
    return week, whole


def chans(agg: SpanAggregate, name: str, **match: object) -> list[int]:
    return [
        i
        for i, c in enumerate(agg.channels)
        if c.name == name and all(getattr(c, k) == v for k, v in match.items())
    ]


def test_unique_users_grow_from_the_first_week_to_the_month(
    month: tuple[SpanAggregate, SpanAggregate],
) -> None:
    week, whole = (m.flags[SM_FLAGS[0]] for m in month)
    w, m = week.exposed_users(ON), whole.exposed_users(ON)
    assert set(w.tolist()) <= set(m.tolist())
    assert 1.2 * len(w) < len(m) <= 30_002


def test_share_and_count_of_users_sending_messages_each_month(
    month: tuple[SpanAggregate, SpanAggregate],
) -> None:
    agg = month[1]
    sums = agg.flags[SM_FLAGS[0]]
    sent = chans(agg, "message_sent")
    senders = np.unique(np.concatenate([sums.users_of(ON, c) for c in sent]))
    exposed = sums.exposed_users(ON)
    share = len(senders) / len(exposed)
    assert 0.2 < share < 1.0
    per_sender = sums.counts[ON][sent].sum() / len(senders)
    # 30 % of visits send one: senders send more than one a month on average.
    assert per_sender > 1.0
    assert sums.counts[ON][sent].sum() == pytest.approx(
        0.3 * sums.exposures[ON].sum(), rel=0.03
    )
    mobile = chans(agg, "message_sent", device=DeviceClass.MOBILE)
    mobile_senders = np.unique(np.concatenate([sums.users_of(ON, c) for c in mobile]))
    assert len(mobile_senders) / len(senders) == pytest.approx(0.45, abs=0.04)


def test_share_of_messages_that_fail_and_the_recent_page_shortcut(
    month: tuple[SpanAggregate, SpanAggregate],
) -> None:
    agg = month[1]
    sums = agg.flags[SM_FLAGS[0]]
    sends = chans(agg, "message_send_request")
    failed = [c for c in sends if agg.channels[c].status == 500]
    assert sums.counts[ON][failed].sum() / sums.counts[ON][sends].sum() == (
        pytest.approx(0.01, abs=0.003)
    )
    recent = chans(agg, "page_view", route="/new-message/recent")
    straight = [
        c
        for c in chans(agg, "page_view", route="/new-message/start-message")
        if dict(agg.channels[c].attributes).get("referrer") == "/new-message/recent"
    ]
    visitors = np.unique(np.concatenate([sums.users_of(ON, c) for c in recent]))
    went = np.unique(np.concatenate([sums.users_of(ON, c) for c in straight]))
    assert sums.counts[ON][straight].sum() / sums.counts[ON][recent].sum() == (
        pytest.approx(0.62, abs=0.02)
    )
    assert 0.5 < len(went) / len(visitors) <= 1.0
