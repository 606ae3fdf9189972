"""Random programs over the outbox: commits and aborted transitions, receivers
that fail or refuse, dispatchers killed after sending, time passing, retries by
hand. Whatever happens, nothing is sent for an aborted transition, nothing is
marked delivered that the receiver did not accept, and in the end every
committed notice has reached the receiver, under one delivery id.

The program is a Hypothesis list of steps rather than a RuleBasedStateMachine:
the rule machine drew mostly empty or commit-only runs here, and missed a
dispatcher that marked refused rows delivered in two runs of three; these
steps, with failing answers drawn more often than 200, found it in each of four
runs from an empty example database."""

from __future__ import annotations

import datetime as dt
import random
import shutil
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

import httpx
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st

from flagramp.core.clock import VirtualClock
from flagramp.engine.notifications.delivery_log import (
    list_deliveries,
    retry_delivery,
)
from flagramp.engine.notifications.dispatch import dispatch
from flagramp.engine.notifications.outbox import claim_next
from flagramp.engine.notifications.retries import RetryPolicy
from flagramp.engine.notifications.sending import send_webhook
from flagramp.engine.notifications.webhooks import (
    WebhookFormat,
    add_webhook,
    get_webhook,
)
from flagramp.engine.notify import WEBHOOK, Notice, NoticeKind, enqueue
from flagramp.store import Author, SqlFlagStore
from flagramp.store.audit_keys import AuditKeyring
from flagramp.store.notification_tables import notification_outbox
from tests.engine.notifications.receivers import WebhookReceiver, webhook_receiver

T0 = dt.datetime(2026, 11, 23, tzinfo=dt.UTC)
WHO = Author("controller")
SECRET = "s3cret-of-sixteen-chars"
POLICY = RetryPolicy(max_attempts=3)
ANSWERS = st.sampled_from([400, 500, 429, 200])
_TEMPLATE: list[Path] = []


def migrated_copy(folder: Path) -> str:
    """A migrated SQLite database: a copy of one migrated once per process
    (migrating for each example would cost most of the test's time)."""
    if not _TEMPLATE:
        template = Path(tempfile.mkdtemp()) / "template.db"
        SqlFlagStore.open(f"sqlite:///{template}").engine.dispose()
        _TEMPLATE.append(template)
    target = folder / "f.db"
    shutil.copyfile(_TEMPLATE[0], target)
    return f"sqlite:///{target}"


class Aborted(Exception):
    pass


class Outbox:
    """A store with one JSON webhook to a real receiver, and what was done."""

    def __init__(self) -> None:
        self.stack = ExitStack()
        folder = Path(self.stack.enter_context(tempfile.TemporaryDirectory()))
        self.receiver = self.stack.enter_context(
            webhook_receiver(WebhookReceiver(SECRET))
        )
        self.store = SqlFlagStore.open(
            migrated_copy(folder), keyring=AuditKeyring.generate()
        )
        with self.store.unit_of_work(WHO) as unit:
            add_webhook(
                unit,
                "production",
                self.receiver.url,
                format=WebhookFormat.JSON,
                secret=SECRET,
                at=T0,
            )
        self.clock = VirtualClock(T0)
        self.rng = random.Random(0)
        self.committed: set[str] = set()
        self.aborted: set[str] = set()
        self.seq = 0

    def notice(self) -> Notice:
        self.seq += 1
        return Notice(
            NoticeKind.PAUSED,
            "run-1",
            "production",
            "paused",
            "why",
            f"run-1:{self.seq}",
            T0,
        )

    def commit(self) -> None:
        each = self.notice()
        with self.store.unit_of_work(WHO) as unit:
            enqueue(unit, each)
        self.committed.add(each.key)

    def abort(self) -> None:
        each = self.notice()
        try:
            with self.store.unit_of_work(WHO) as unit:
                enqueue(unit, each)
                raise Aborted
        except Aborted:
            self.aborted.add(each.key)

    def answer(self, answers: list[int]) -> None:
        with self.receiver.lock:
            self.receiver.answers[:] = answers

    def dispatch(self, answers: list[int]) -> None:
        self.answer(answers)
        dispatch(self.store, self.clock, policy=POLICY, rng=self.rng)

    def killed_after_send(self, answer: int) -> None:
        # A dispatcher that claims and sends, then dies before it records.
        claimed = claim_next(
            self.store.engine, self.clock.now(), POLICY.lease, [WEBHOOK], "dying"
        )
        if claimed is None or claimed.webhook_id is None:
            return
        with self.store.engine.connect() as conn:
            webhook = get_webhook(conn, "production", claimed.webhook_id)
        self.answer([answer])
        with httpx.Client() as client:
            stamp = int(time.time())
            send_webhook(client, webhook, claimed.notice, claimed.delivery_id, stamp)

    def time_passes(self, minutes: int) -> None:
        self.clock.advance(dt.timedelta(minutes=minutes))

    def retry_failed(self) -> None:
        with self.store.engine.connect() as conn:
            failed = list_deliveries(conn, status="failed", limit=10_000)
        if failed:
            with self.store.unit_of_work(Author("alice")) as unit:
                for delivery in failed:
                    retry_delivery(unit, delivery.delivery_id)

    def rows(self) -> list[sa.RowMapping]:
        with self.store.engine.connect() as conn:
            return list(conn.execute(sa.select(notification_outbox)).mappings())

    def nothing_of_an_aborted_transition_exists_or_is_sent(self) -> None:
        rows = self.rows()
        assert {row["notice_key"] for row in rows} == self.committed
        ids = {row["delivery_id"] for row in rows}
        assert set(self.receiver.accepted) <= ids
        delivered = {r["delivery_id"] for r in rows if r["status"] == "delivered"}
        assert delivered <= set(self.receiver.accepted)

    def drain_and_check(self) -> None:
        """Let everything through, then: every committed notice arrived."""
        self.answer([])
        self.retry_failed()
        self.clock.advance(POLICY.lease + POLICY.max_delay)
        dispatch(self.store, self.clock, policy=POLICY, limit=10_000)
        rows = self.rows()
        assert {row["status"] for row in rows} <= {"delivered"}
        keys = {row["delivery_id"]: row["notice_key"] for row in rows}
        assert {keys[d] for d in self.receiver.accepted} == self.committed
        assert all(r.signed_ok for r in self.receiver.requests)

    def close(self) -> None:
        self.store.engine.dispose()
        self.stack.close()


STEPS = st.one_of(
    st.tuples(st.just("commit")),
    st.tuples(st.just("abort")),
    st.tuples(st.just("dispatch"), st.lists(ANSWERS, min_size=1, max_size=4)),
    st.tuples(st.just("killed_after_send"), ANSWERS),
    st.tuples(st.just("time_passes"), st.integers(1, 90)),
    st.tuples(st.just("retry_failed")),
)


@settings(max_examples=50, deadline=None)
@given(st.lists(STEPS, min_size=1, max_size=25))
def test_the_outbox_under_failures_kills_and_retries(
    steps: list[tuple[object, ...]],
) -> None:
    outbox = Outbox()
    try:
        for name, *arguments in steps:
            getattr(outbox, str(name))(*arguments)
            outbox.nothing_of_an_aborted_transition_exists_or_is_sent()
        outbox.drain_and_check()
    finally:
        outbox.close()
