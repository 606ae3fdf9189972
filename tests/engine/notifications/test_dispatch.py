"""Dispatch after commit to real receivers: retries with backoff, signatures,
one delivery per notice and destination, failures raised once."""

from __future__ import annotations

import datetime as dt
import json
import random

import pytest
import sqlalchemy as sa

from flagramp.core.clock import VirtualClock
from flagramp.engine.notifications.delivery_log import (
    attempts_of,
    get_delivery,
    list_deliveries,
    retry_delivery,
)
from flagramp.engine.notifications.dispatch import dispatch
from flagramp.engine.notifications.retries import RetryPolicy
from flagramp.engine.notifications.smtp import SmtpSettings
from flagramp.engine.notifications.webhooks import (
    WebhookFormat,
    add_webhook,
    remove_webhook,
)
from flagramp.engine.notify import Notice, NoticeKind, NoticeRole, enqueue
from flagramp.store import Author, SqlFlagStore
from flagramp.store.notification_tables import notification_outbox
from tests.engine.notifications.receivers import (
    SmtpSink,
    WebhookReceiver,
    free_port,
    smtp_sink,
    webhook_receiver,
)

T0 = dt.datetime(2026, 11, 23, 10, 0, tzinfo=dt.UTC)
WHO = Author("controller", "a test")
SECRET = "s3cret-of-sixteen-chars"
POLICY = RetryPolicy(max_attempts=4)


def notice(key: str = "run-1:7", kind: NoticeKind = NoticeKind.ROLLED_BACK) -> Notice:
    return Notice(
        kind=kind,
        run="run-1",
        environment="production",
        title="vaos rolled back at stage 2 <critical>",
        text="error rate 6.1 % > 5 % & rising",
        key=key,
        at=T0,
        roles=(NoticeRole("owner", ("eng.lead@example.gov",)),),
        data={"link": "http://flagramp.test/runs/run-1", "evidence": {"errors": 61}},
    )


def hook(
    store: SqlFlagStore,
    url: str,
    format: WebhookFormat = WebhookFormat.JSON,
    kinds: tuple[str, ...] = (),
) -> int:
    with store.unit_of_work(WHO) as unit:
        secret = SECRET if format is WebhookFormat.JSON else None
        made = add_webhook(
            unit, "production", url, format=format, secret=secret, kinds=kinds, at=T0
        )
    return made.id


def commit(store: SqlFlagStore, *notices: Notice) -> None:
    with store.unit_of_work(WHO) as unit:
        for each in notices:
            enqueue(unit, each)


def due_times(store: SqlFlagStore) -> list[int]:
    with store.engine.connect() as conn:
        query = sa.select(notification_outbox.c.due_at).order_by(
            notification_outbox.c.id
        )
        return list(conn.execute(query).scalars())


def test_a_failing_receiver_is_retried_with_backoff_and_gets_one_delivery(
    store: SqlFlagStore,
) -> None:
    clock = VirtualClock(T0)
    rng = random.Random(7)
    with webhook_receiver(WebhookReceiver(SECRET, answers=[503, 500])) as receiver:
        hook(store, receiver.url)
        commit(store, notice())
        first = dispatch(store, clock, policy=POLICY, rng=rng)
        assert (len(first.retrying), first.delivered) == (1, [])
        # Not due again before its backoff: [15 s, 30 s] after the first failure.
        due = dt.datetime.fromtimestamp(due_times(store)[0] / 1000, dt.UTC)
        assert dt.timedelta(seconds=15) <= due - T0 <= dt.timedelta(seconds=30)
        clock.advance(due - T0 - dt.timedelta(milliseconds=1))
        assert dispatch(store, clock, policy=POLICY, rng=rng).attempts == 0
        clock.advance(dt.timedelta(milliseconds=1))
        assert len(dispatch(store, clock, policy=POLICY, rng=rng).retrying) == 1
        second_due = dt.datetime.fromtimestamp(due_times(store)[0] / 1000, dt.UTC)
        # The second wait doubles: [30 s, 60 s] (the 503's Retry-After of 1 s is
        # shorter, so the backoff stands).
        wait = second_due - clock.now()
        assert dt.timedelta(seconds=30) <= wait <= dt.timedelta(seconds=60)
        clock.advance(wait)
        third = dispatch(store, clock, policy=POLICY, rng=rng)
        assert len(third.delivered) == 1
        clock.advance(dt.timedelta(hours=9))
        assert dispatch(store, clock).attempts == 0
    ids = {r.headers["x-flagramp-delivery"] for r in receiver.requests}
    assert len(receiver.requests) == 3 and len(ids) == 1
    assert all(r.signed_ok for r in receiver.requests)
    assert list(receiver.accepted) == third.delivered
    body = json.loads(receiver.accepted[third.delivered[0]])
    assert body["delivery"] == third.delivered[0]
    assert body["notice"]["data"]["evidence"] == {"errors": 61}
    with store.engine.connect() as conn:
        log = attempts_of(conn, third.delivered[0])
        delivery = get_delivery(conn, third.delivered[0])
    assert [(a.attempt, a.outcome, a.response_code) for a in log] == [
        (1, "retry", 503),
        (2, "retry", 500),
        (3, "delivered", 200),
    ]
    assert delivery.status == "delivered" and delivery.attempts == 3


def test_a_slack_webhook_gets_text_and_blocks_with_user_text_escaped(
    store: SqlFlagStore,
) -> None:
    with webhook_receiver(WebhookReceiver()) as receiver:
        hook(store, receiver.url, WebhookFormat.SLACK)
        commit(store, notice())
        assert len(dispatch(store, VirtualClock(T0)).delivered) == 1
    message = json.loads(receiver.requests[0].body)
    assert message["text"] == (
        "vaos rolled back at stage 2 &lt;critical&gt;\n"
        "error rate 6.1 % &gt; 5 % &amp; rising"
    )
    assert [block["type"] for block in message["blocks"]] == [
        "header",
        "section",
        "context",
    ]
    context = message["blocks"][2]["elements"][0]["text"]
    assert context == (
        "rolled_back · run run-1 · production · "
        "<http://flagramp.test/runs/run-1|open the run>"
    )
    # No secret: no signature header, but the delivery id all the same.
    assert "x-flagramp-signature" not in receiver.requests[0].headers
    assert len(receiver.requests[0].headers["x-flagramp-delivery"]) == 32


def test_nothing_is_sent_for_a_transition_that_did_not_commit(
    store: SqlFlagStore,
) -> None:
    with webhook_receiver(WebhookReceiver(SECRET)) as receiver:
        hook(store, receiver.url)
        with pytest.raises(RuntimeError), store.unit_of_work(WHO) as unit:
            enqueue(unit, notice())
            raise RuntimeError("the flag change failed")
        assert dispatch(store, VirtualClock(T0)).attempts == 0
    assert receiver.requests == []


def test_a_refused_delivery_fails_at_once_and_raises_one_notice(
    store: SqlFlagStore,
) -> None:
    clock = VirtualClock(T0)
    with (
        webhook_receiver(WebhookReceiver(SECRET, answers=[410])) as gone,
        webhook_receiver(WebhookReceiver(SECRET)) as ops,
    ):
        hook(store, gone.url)
        hook(store, ops.url, kinds=("delivery_failed",))
        commit(store, notice())
        report = dispatch(store, clock)
        for _ in range(3):
            clock.advance(dt.timedelta(hours=2))
            dispatch(store, clock)
    assert len(report.failed) == 1
    # The dead hook got the notice once and no notice about its own failure; the
    # operators' hook (delivery_failed only) got one failure notice.
    assert len(gone.requests) == 1
    assert len(ops.requests) == 1
    told = json.loads(ops.requests[0].body)["notice"]
    assert told["kind"] == "delivery_failed"
    assert told["data"]["delivery"] == report.failed[0]
    assert "HTTP 410" in told["text"]
    with store.engine.connect() as conn:
        failed = get_delivery(conn, report.failed[0])
    assert failed.status == "failed" and failed.last_error is not None


def test_a_delivery_that_never_passes_fails_after_the_last_attempt(
    store: SqlFlagStore,
) -> None:
    clock = VirtualClock(T0)
    with webhook_receiver(WebhookReceiver(SECRET, answers=[500] * 10)) as receiver:
        hook(store, receiver.url)
        commit(store, notice())
        outcomes = []
        for _ in range(6):
            report = dispatch(store, clock, policy=POLICY)
            outcomes += [
                "retry" if report.retrying else "failed" if report.failed else "-"
            ]
            clock.advance(POLICY.max_delay)
    assert outcomes == ["retry", "retry", "retry", "failed", "-", "-"]
    assert len(receiver.requests) == POLICY.max_attempts


def test_a_failed_delivery_retried_by_hand_is_sent_again(store: SqlFlagStore) -> None:
    clock = VirtualClock(T0)
    with webhook_receiver(WebhookReceiver(SECRET, answers=[400])) as receiver:
        hook(store, receiver.url)
        commit(store, notice())
        [failed] = dispatch(store, clock).failed
        with store.unit_of_work(Author("alice", "the receiver is fixed")) as unit:
            assert retry_delivery(unit, failed).status == "pending"
        assert dispatch(store, clock).delivered == [failed]
    assert [r.headers["x-flagramp-delivery"] for r in receiver.requests] == [
        failed,
        failed,
    ]
    [change] = [c for c in store.changes_since(0) if c.kind == "notification"]
    assert (change.key, change.action, change.who) == (failed, "retry", "alice")


def test_a_removed_webhook_fails_its_pending_deliveries(store: SqlFlagStore) -> None:
    with webhook_receiver(WebhookReceiver(SECRET)) as receiver:
        webhook_id = hook(store, receiver.url)
        commit(store, notice())
        with store.unit_of_work(WHO) as unit:
            remove_webhook(unit, "production", webhook_id)
        report = dispatch(store, VirtualClock(T0))
    assert receiver.requests == [] and len(report.failed) == 1
    with store.engine.connect() as conn:
        [row] = list_deliveries(conn)
    assert row.last_error == f"webhook {webhook_id} was removed"


def test_email_goes_to_each_address_with_text_and_html_parts(
    store: SqlFlagStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    with smtp_sink(SmtpSink(answers=["451 try again later"])) as sink:
        monkeypatch.setenv("FLAGRAMP_SMTP_URL", sink.url)
        two = Notice(
            **{
                **notice().__dict__,
                "roles": (
                    NoticeRole("owner", ("eng.lead@example.gov",)),
                    NoticeRole("po", ("product.owner@example.gov", "account-9")),
                ),
            }
        )
        commit(store, two)
        settings = SmtpSettings.from_url(sink.url, "flagramp@example.gov")
        clock = VirtualClock(T0)
        first = dispatch(store, clock, smtp=settings)
        clock.advance(dt.timedelta(minutes=1))
        second = dispatch(store, clock, smtp=settings)
    # The sink's 451 to the first message is retried; both arrive once.
    assert (len(first.retrying), len(first.delivered), len(second.delivered)) == (
        1,
        1,
        1,
    )
    kept = sink.by_delivery()
    assert sorted(str(m["To"]) for m in kept.values()) == [
        "eng.lead@example.gov",
        "product.owner@example.gov",
    ]
    message = next(iter(kept.values()))
    assert message["Subject"] == "[flagramp] vaos rolled back at stage 2 <critical>"
    assert message["From"] == "flagramp@example.gov"
    assert message["Message-ID"] == f"<{message['X-Flagramp-Delivery']}@flagramp>"
    plain = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert plain is not None and html is not None
    assert "error rate 6.1 % > 5 % & rising" in plain.get_content()
    assert "Link: http://flagramp.test/runs/run-1" in plain.get_content()
    assert "6.1 % &gt; 5 % &amp; rising" in html.get_content()
    assert "&lt;critical&gt;" in html.get_content()


def test_email_rows_wait_while_no_smtp_is_configured(
    store: SqlFlagStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FLAGRAMP_SMTP_URL", "smtp://127.0.0.1:9")
    commit(store, notice())
    monkeypatch.delenv("FLAGRAMP_SMTP_URL")
    assert dispatch(store, VirtualClock(T0)).attempts == 0
    with store.engine.connect() as conn:
        [row] = list_deliveries(conn)
    assert (row.channel, row.status, row.attempts) == ("email", "pending", 0)


def test_a_dead_receiver_costs_one_attempt_per_call_not_one_per_row(
    store: SqlFlagStore,
) -> None:
    dead = f"http://127.0.0.1:{free_port()}/nobody"
    with webhook_receiver(WebhookReceiver(SECRET)) as live:
        hook(store, dead)
        hook(store, live.url)
        commit(store, *(notice(f"run-1:{n}") for n in range(5)))
        clock = VirtualClock(T0)
        report = dispatch(store, clock)
        assert dispatch(store, clock, budget=0).attempts == 0
    # Each notice has a row for each hook; the dead one is tried once, then
    # skipped until the next call; the live one gets all five.
    assert (len(report.retrying), len(report.delivered)) == (1, 5)
    assert len(live.requests) == 5
    with store.engine.connect() as conn:
        waiting = list_deliveries(conn, status="pending")
    assert len(waiting) == 5
    assert sum(d.attempts for d in waiting) == 1
