"""Processes killed at the worst moments, and dispatchers racing: at least once,
with one delivery id, so a receiver that dedupes sees each notice once."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import textwrap
import threading

import pytest
import sqlalchemy as sa

from flagramp.core.clock import SystemClock, VirtualClock
from flagramp.engine.notifications.delivery_log import attempts_of, list_deliveries
from flagramp.engine.notifications.dispatch import DispatchReport, dispatch
from flagramp.engine.notifications.retries import RetryPolicy
from flagramp.engine.notifications.smtp import SmtpSettings
from flagramp.engine.notifications.webhooks import WebhookFormat, add_webhook
from flagramp.engine.notify import Notice, NoticeKind, NoticeRole, enqueue
from flagramp.store import Author, SqlFlagStore
from tests.engine.notifications.receivers import (
    STALL_SECONDS,
    SmtpSink,
    WebhookReceiver,
    smtp_sink,
    webhook_receiver,
)

WHO = Author("controller", "a test")
SECRET = "s3cret-of-sixteen-chars"
AFTER_THE_LEASE = RetryPolicy().lease + dt.timedelta(minutes=1)


def notice(key: str) -> Notice:
    return Notice(
        kind=NoticeKind.NEEDS_PERSON,
        run="run-1",
        environment="production",
        title="stage 2 waits for go/no-go",
        text="the product owner decides",
        key=key,
        at=dt.datetime(2026, 11, 23, tzinfo=dt.UTC),
        roles=(NoticeRole("product_owner", ("po@example.gov",)),),
    )


def url_of(store: SqlFlagStore) -> str:
    return store.engine.url.render_as_string(hide_password=False)


def add_hook(store: SqlFlagStore, url: str) -> None:
    with store.unit_of_work(WHO) as unit:
        add_webhook(
            unit,
            "production",
            url,
            format=WebhookFormat.JSON,
            secret=SECRET,
            at=dt.datetime(2026, 11, 23, tzinfo=dt.UTC),
        )


def run_python(code: str, database: str, **env: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code)],
        env={**os.environ, "FLAGRAMP_DATABASE_URL": database, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


DISPATCH_ONCE = """
    from flagramp.cli.app import main
    import sys
    sys.argv = ["flagramp", "notifications", "dispatch", "--once"]
    main()
"""


@pytest.mark.parametrize("channel", ["email", "webhook"])
def test_a_dispatcher_killed_between_send_and_record_resends_with_the_same_id(
    store: SqlFlagStore, channel: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with (
        smtp_sink(SmtpSink(stall_first=True)) as sink,
        webhook_receiver(WebhookReceiver(SECRET, stall_first=True)) as receiver,
    ):
        if channel == "email":
            monkeypatch.setenv("FLAGRAMP_SMTP_URL", sink.url)
        else:
            add_hook(store, receiver.url)
        with store.unit_of_work(WHO) as unit:
            enqueue(unit, notice("run-1:4"))
        child = run_python(DISPATCH_ONCE, url_of(store))
        got = sink.got_one if channel == "email" else receiver.got_one
        # The receiver has the delivery and holds back its answer: the child has
        # sent and not yet recorded. Kill it there.
        assert got.wait(STALL_SECONDS), child.communicate()[1]
        child.send_signal(signal.SIGKILL)
        child.wait()
        sink.release.set()
        receiver.release.set()
        # Its lease still holds the row: nobody sends it again yet ...
        smtp = SmtpSettings.from_url(sink.url)
        assert dispatch(store, SystemClock(), smtp=smtp).attempts == 0
        # ... and after the lease, the restarted dispatcher does, with the same id.
        later = VirtualClock(SystemClock().now() + AFTER_THE_LEASE)
        restarted = dispatch(store, later, smtp=smtp)
        assert dispatch(store, later, smtp=smtp).attempts == 0
    assert len(restarted.delivered) == 1
    [delivery_id] = restarted.delivered
    if channel == "email":
        sent = [str(m["X-Flagramp-Delivery"]) for m in sink.messages]
        assert sent == [delivery_id, delivery_id]
        assert list(sink.by_delivery()) == [delivery_id]
    else:
        sent = [r.headers["x-flagramp-delivery"] for r in receiver.requests]
        assert sent == [delivery_id, delivery_id]
        assert all(r.signed_ok for r in receiver.requests)
        assert list(receiver.accepted) == [delivery_id]
    with store.engine.connect() as conn:
        # The killed attempt never reached the log; the one that was recorded did.
        assert [a.outcome for a in attempts_of(conn, delivery_id)] == ["delivered"]


COMMIT_THEN_DIE = """
    import datetime as dt, os, signal
    from flagramp.engine.notify import Notice, NoticeKind, enqueue
    from flagramp.store import Author, open_store

    store = open_store()
    def notice(key):
        return Notice(NoticeKind.PAUSED, "run-1", "production", "paused", "why",
                      key, dt.datetime(2026, 11, 23, tzinfo=dt.UTC))
    with store.unit_of_work(Author("controller")) as unit:
        enqueue(unit, notice("run-1:1"))
    with store.unit_of_work(Author("controller")) as unit:
        enqueue(unit, notice("run-1:2"))
        os.kill(os.getpid(), signal.SIGKILL)  # inside the unit: never commits
"""


def test_a_controller_killed_after_commit_has_its_notice_sent_and_no_other(
    store: SqlFlagStore,
) -> None:
    with webhook_receiver(WebhookReceiver(SECRET)) as receiver:
        add_hook(store, receiver.url)
        child = run_python(COMMIT_THEN_DIE, url_of(store))
        assert child.wait(60) == -signal.SIGKILL, child.communicate()[1]
        report = dispatch(store, SystemClock())
    assert len(report.delivered) == 1
    body = receiver.accepted[report.delivered[0]]
    assert b'"key": "run-1:1"' in body
    with store.engine.connect() as conn:
        assert [d.notice_key for d in list_deliveries(conn)] == ["run-1:1"]


ROWS = 40


def test_two_dispatchers_racing_deliver_each_row_once(store: SqlFlagStore) -> None:
    pair = threading.Barrier(2)
    with webhook_receiver(WebhookReceiver(SECRET, pair_first=pair)) as receiver:
        add_hook(store, receiver.url)
        with store.unit_of_work(WHO) as unit:
            for seq in range(ROWS):
                enqueue(unit, notice(f"run-1:{seq}"))
        other = SqlFlagStore.open(url_of(store))
        reports: list[DispatchReport] = []
        start = threading.Barrier(2)

        def run(each: SqlFlagStore) -> None:
            start.wait(30)
            reports.append(dispatch(each, SystemClock(), limit=ROWS * 2))

        threads = [threading.Thread(target=run, args=(s,)) for s in (store, other)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
        other.engine.dispose()
    assert not pair.broken, "the two dispatchers never sent at the same time"
    delivered = [d for report in reports for d in report.delivered]
    assert len(delivered) == ROWS == len(set(delivered))
    assert all(report.delivered for report in reports)
    sent = [r.headers["x-flagramp-delivery"] for r in receiver.requests]
    assert sorted(sent) == sorted(delivered)
    with store.engine.connect() as conn:
        attempts = conn.execute(sa.text("SELECT COUNT(*) FROM notification_attempts"))
        assert attempts.scalar() == ROWS
