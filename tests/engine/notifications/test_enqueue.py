"""Notices go into the outbox inside the caller's unit of work, and only there."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import sqlalchemy as sa

from flagramp.core.errors import NoticeInvalid
from flagramp.engine.notifications.webhooks import WebhookFormat, add_webhook
from flagramp.engine.notify import (
    Notice,
    NoticeKind,
    NoticeRole,
    delivery_id,
    email_address,
    enqueue,
)
from flagramp.store import Author, SqlFlagStore
from flagramp.store.notification_tables import notification_outbox

T0 = dt.datetime(2026, 11, 23, 10, 0, tzinfo=dt.UTC)
WHO = Author("controller", "a test")
SECRET = "s3cret-of-sixteen-chars"


def notice(kind: NoticeKind = NoticeKind.PAUSED, key: str = "run-1:7") -> Notice:
    return Notice(
        kind=kind,
        run="run-1",
        environment="production",
        title="vaos paused at stage 2",
        text="error rate 6.1 % is past the limit of 5 %",
        key=key,
        at=T0,
        roles=(
            NoticeRole("owner", ("eng.lead@example.gov", "ENG.LEAD@example.gov")),
            NoticeRole("on_call", ("pager-account-17", "sre@example.gov")),
        ),
        data={"link": "http://flagramp/runs/run-1", "evidence": {"errors": 61}},
    )


def outbox_rows(store: SqlFlagStore) -> list[sa.RowMapping]:
    with store.engine.connect() as conn:
        query = sa.select(notification_outbox).order_by(notification_outbox.c.id)
        return list(conn.execute(query).mappings())


def add_hooks(store: SqlFlagStore) -> None:
    with store.unit_of_work(WHO) as unit:
        add_webhook(
            unit,
            "production",
            "http://127.0.0.1:9/all",
            format=WebhookFormat.JSON,
            secret=SECRET,
            at=T0,
        )
        add_webhook(
            unit,
            "production",
            "http://127.0.0.1:9/kills",
            format=WebhookFormat.SLACK,
            kinds=["killed"],
            at=T0,
        )
        add_webhook(
            unit,
            "staging",
            "http://127.0.0.1:9/staging",
            format=WebhookFormat.SLACK,
            at=T0,
        )


def test_a_notice_writes_one_row_per_taking_webhook_and_address(
    store: SqlFlagStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FLAGRAMP_SMTP_URL", "smtp://127.0.0.1:8025")
    add_hooks(store)
    with store.unit_of_work(WHO) as unit:
        enqueue(unit, notice())
        version = unit.write_version
    rows = outbox_rows(store)
    # The "killed"-only hook and the other environment's hook take none; the
    # address written twice in two cases is one e-mail; an account id is none.
    assert [(r["channel"], r["target"]) for r in rows] == [
        ("webhook", "http://127.0.0.1:9/all"),
        ("email", "eng.lead@example.gov"),
        ("email", "sre@example.gov"),
    ]
    assert {r["status"] for r in rows} == {"pending"}
    assert {r["store_version"] for r in rows} == {version}
    assert rows[0]["delivery_id"] == delivery_id("run-1:7", "webhook:1")
    assert len({r["delivery_id"] for r in rows}) == 3


def test_without_smtp_configured_no_email_rows(
    store: SqlFlagStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FLAGRAMP_SMTP_URL", raising=False)
    add_hooks(store)
    with store.unit_of_work(WHO) as unit:
        enqueue(unit, notice(NoticeKind.KILLED))
    assert [r["target"] for r in outbox_rows(store)] == [
        "http://127.0.0.1:9/all",
        "http://127.0.0.1:9/kills",
    ]


def test_a_unit_that_fails_leaves_no_outbox_row(store: SqlFlagStore) -> None:
    add_hooks(store)
    with pytest.raises(RuntimeError), store.unit_of_work(WHO) as unit:
        enqueue(unit, notice())
        raise RuntimeError("the transition failed after the notice")
    assert outbox_rows(store) == []


def test_a_notice_enqueued_twice_is_one_delivery(store: SqlFlagStore) -> None:
    add_hooks(store)
    for _ in range(2):
        with store.unit_of_work(WHO) as unit:
            enqueue(unit, notice())
    with store.unit_of_work(WHO) as unit:
        enqueue(unit, notice(key="run-1:8"))
    assert [r["notice_key"] for r in outbox_rows(store)] == ["run-1:7", "run-1:8"]


def test_a_notice_round_trips_through_json() -> None:
    original = notice()
    assert Notice.from_json(original.to_json()) == original


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"run": ""}, "entity key"),
        ({"environment": "a/b"}, "environment name"),
        ({"title": ""}, "title"),
        ({"title": "two\nlines"}, "title"),
        ({"text": "nul \x00"}, "notice text"),
        ({"at": dt.datetime(2026, 1, 1)}, "at"),
        ({"data": {"when": T0}}, "data"),
    ],
)
def test_a_notice_the_outbox_cannot_keep_is_refused(
    tmp_path: Path, change: dict[str, object], field: str
) -> None:
    # The checks come before any statement: one backend is enough.
    store = SqlFlagStore.open(f"sqlite:///{tmp_path / 'flagramp.db'}")
    add_hooks(store)
    bad = Notice(**{**notice().__dict__, **change})
    with pytest.raises(NoticeInvalid) as caught, store.unit_of_work(WHO) as unit:
        enqueue(unit, bad)
    assert caught.value.field == field
    assert outbox_rows(store) == []


@pytest.mark.parametrize(
    ("person", "address"),
    [
        ("eng.lead@example.gov", "eng.lead@example.gov"),
        ("pager-account-17", None),
        ("a@b", None),
        ("two@at@example.gov", None),
        ("Name <x@example.gov>", None),
        ("x y@example.gov", None),
        ("@example.gov", None),
    ],
)
def test_only_plain_addresses_get_email(person: str, address: str | None) -> None:
    assert email_address(person) == address


def test_a_notice_with_no_destination_writes_nothing_and_uses_no_version(
    store: SqlFlagStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FLAGRAMP_SMTP_URL", raising=False)
    before = store.version()
    with store.unit_of_work(WHO) as unit:
        enqueue(unit, notice())
    assert store.version() == before
    assert outbox_rows(store) == []


def test_the_migration_creates_the_notification_tables(store: SqlFlagStore) -> None:
    tables = set(sa.inspect(store.engine).get_table_names())
    assert {"webhooks", "notification_outbox", "notification_attempts"} <= tables
