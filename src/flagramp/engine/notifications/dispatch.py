"""Sending the outbox after commit: `dispatch`.

The controller calls `dispatch` after each tick; `flagramp notifications
dispatch --once` runs it alone. Each call sends what is due, up to `limit` rows,
one claim at a time (outbox.py says why two dispatchers never send one row at
once, and why a killed one's row is sent again with the same delivery id).

A call must not hold up the controller's tick for long: a destination whose
attempt failed in a way worth a retry (down, timing out) is not tried again in
the same call, so a dead receiver costs one timeout per call, not one per row;
and no new row is claimed once `budget` seconds (wall time, which only bounds the
call and decides nothing about a run) have passed.
A row that fails `RetryPolicy.max_attempts` times, or is refused, is marked
failed and, once, raises a `delivery_failed` notice to the other destinations
(never one about a `delivery_failed` notice: failures do not chain).

E-mail rows wait, pending, while this process has no SMTP settings.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import socket
import time
import uuid
from dataclasses import dataclass, field

import httpx
from sqlalchemy import Engine

from flagramp.core.clock import Clock
from flagramp.engine.notifications.outbox import (
    DELIVERED,
    FAILED,
    PENDING,
    Claimed,
    claim_next,
    record_attempt,
)
from flagramp.engine.notifications.retries import RetryPolicy
from flagramp.engine.notifications.sending import (
    Attempt,
    Outcome,
    send_email,
    send_webhook,
)
from flagramp.engine.notifications.smtp import SmtpSettings
from flagramp.engine.notifications.webhooks import get_webhook
from flagramp.engine.notify import EMAIL, WEBHOOK, Notice, NoticeKind, enqueue
from flagramp.store import Author, SqlFlagStore
from flagramp.store.database import begin_write

#: Seconds for a webhook's whole exchange (connect, send, answer).
HTTP_TIMEOUT = 10.0
DISPATCHER = Author("flagramp-notifications", "a notice could not be delivered")


@dataclass
class DispatchReport:
    """What one `dispatch` call did, by delivery id."""

    delivered: list[str] = field(default_factory=list)
    retrying: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)

    @property
    def attempts(self) -> int:
        """How many sends were tried."""
        return len(self.delivered) + len(self.retrying) + len(self.failed)


def dispatch(
    store: SqlFlagStore,
    clock: Clock,
    *,
    transport: httpx.BaseTransport | None = None,
    smtp: SmtpSettings | None = None,
    policy: RetryPolicy | None = None,
    limit: int = 100,
    budget: float = 30.0,
    rng: random.Random | None = None,
) -> DispatchReport:
    """Send up to `limit` due outbox rows, record each attempt, schedule retries.

    `smtp` defaults to this process's settings (`FLAGRAMP_SMTP_URL`); `transport`
    replaces httpx's network (tests of receivers that cannot run here).
    """
    chosen = policy or RetryPolicy()
    mail = smtp or SmtpSettings.configured()
    channels = [WEBHOOK, EMAIL] if mail is not None else [WEBHOOK]
    draw = rng or random.Random()
    name = f"{socket.gethostname()}:{os.getpid()}"
    report = DispatchReport()
    failing: set[str] = set()
    deadline = time.monotonic() + budget
    client = httpx.Client(
        transport=transport, timeout=HTTP_TIMEOUT, follow_redirects=False
    )
    with client:
        for _ in range(limit):
            if time.monotonic() >= deadline:
                break
            token = uuid.uuid4().hex
            claimed = claim_next(
                store.engine, clock.now(), chosen.lease, channels, token, failing
            )
            if claimed is None:
                break
            started = time.perf_counter()
            attempt = _send(store.engine, client, mail, claimed)
            duration_ms = round((time.perf_counter() - started) * 1000)
            _finish(store, clock, chosen, draw, claimed, attempt, duration_ms, name)
            _count(report, claimed, attempt, chosen)
            if attempt.outcome is Outcome.RETRY:
                failing.add(claimed.destination)
    return report


def _send(
    engine: Engine,
    client: httpx.Client,
    mail: SmtpSettings | None,
    claimed: Claimed,
) -> Attempt:
    if claimed.channel == EMAIL:
        assert mail is not None  # e-mail rows are claimed only with settings
        return send_email(mail, claimed.notice, claimed.delivery_id, claimed.target)
    assert claimed.webhook_id is not None
    with engine.connect() as conn:
        try:
            webhook = get_webhook(conn, claimed.notice.environment, claimed.webhook_id)
        except KeyError:
            return Attempt(
                Outcome.REFUSED, error=f"webhook {claimed.webhook_id} was removed"
            )
    # Rationale: the timestamp protects receivers against replays, so it is the
    # real time, whatever clock schedules the outbox (a virtual one in the demo).
    return send_webhook(
        client, webhook, claimed.notice, claimed.delivery_id, int(time.time())
    )


def _finish(
    store: SqlFlagStore,
    clock: Clock,
    policy: RetryPolicy,
    rng: random.Random,
    claimed: Claimed,
    attempt: Attempt,
    duration_ms: int,
    dispatcher: str,
) -> None:
    now = clock.now()
    tried = claimed.attempts + 1
    if attempt.outcome is Outcome.DELIVERED:
        status, due = DELIVERED, None
    elif attempt.outcome is Outcome.RETRY and not policy.is_last(tried):
        status = PENDING
        due = now + policy.delay(tried, rng, attempt.retry_after)
    else:
        status, due = FAILED, None
    if status != FAILED:
        with begin_write(store.engine) as conn:
            record_attempt(
                conn.execute,
                claimed,
                attempt,
                at=now,
                duration_ms=duration_ms,
                dispatcher=dispatcher,
                status=status,
                due_at=due,
            )
        return
    # The failure and the notice about it commit together: it is raised once.
    with store.unit_of_work(DISPATCHER) as unit:
        moved = record_attempt(
            unit.execute,
            claimed,
            attempt,
            at=now,
            duration_ms=duration_ms,
            dispatcher=dispatcher,
            status=FAILED,
            due_at=None,
        )
        if moved and claimed.notice.kind is not NoticeKind.DELIVERY_FAILED:
            enqueue(
                unit,
                failure_notice(claimed, attempt, tried, now),
                exclude=(claimed.destination,),
            )


def failure_notice(
    claimed: Claimed, attempt: Attempt, tried: int, at: dt.datetime
) -> Notice:
    """The notice that one delivery failed for good."""
    original = claimed.notice
    where = "e-mail to" if claimed.channel == EMAIL else "webhook"
    return Notice(
        kind=NoticeKind.DELIVERY_FAILED,
        run=original.run,
        environment=original.environment,
        title=f"a notice could not be delivered: {original.title}"[:500],
        text=(
            f"The {original.kind.value} notice of run {original.run} could not be "
            f"delivered ({where} {claimed.target}) after {tried} attempt"
            f"{'s' if tried != 1 else ''}: {attempt.error or 'no answer'}. "
            f"Delivery id {claimed.delivery_id}; `flagramp notifications retry "
            f"{claimed.delivery_id}` sends it again."
        ),
        key=f"delivery-failed:{claimed.delivery_id}",
        at=at,
        roles=original.roles,
        data={
            "delivery": claimed.delivery_id,
            "destination": claimed.destination,
            "notice": original.to_json(),
            **({"link": original.data["link"]} if "link" in original.data else {}),
        },
    )


def _count(
    report: DispatchReport, claimed: Claimed, attempt: Attempt, policy: RetryPolicy
) -> None:
    if attempt.outcome is Outcome.DELIVERED:
        report.delivered.append(claimed.delivery_id)
    elif attempt.outcome is Outcome.RETRY and not policy.is_last(claimed.attempts + 1):
        report.retrying.append(claimed.delivery_id)
    else:
        report.failed.append(claimed.delivery_id)
