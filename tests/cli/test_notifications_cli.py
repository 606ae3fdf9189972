"""`flagramp webhook …` and `flagramp notifications …`: output, audit, errors."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from flagramp.engine.notify import Notice, NoticeKind, NoticeRole, enqueue
from flagramp.store import Author, SqlFlagStore
from tests.cli.conftest import Invoke, assert_one_error, store_state
from tests.engine.notifications.receivers import (
    SmtpSink,
    WebhookReceiver,
    smtp_sink,
    webhook_receiver,
)

T0 = dt.datetime(2026, 11, 23, 10, 0, tzinfo=dt.UTC)


def commit_notice(store: SqlFlagStore, key: str = "run-1:1") -> None:
    with store.unit_of_work(Author("controller")) as unit:
        enqueue(
            unit,
            Notice(
                kind=NoticeKind.PAUSED,
                run="run-1",
                environment="production",
                title="paused",
                text="no exposures for 10 minutes",
                key=key,
                at=T0,
                roles=(NoticeRole("owner", ("eng.lead@example.gov",)),),
            ),
        )


def test_webhook_add_list_remove_is_audited_and_hides_the_secret(
    cli: Invoke, store: SqlFlagStore, tmp_path: Path
) -> None:
    secret = tmp_path / "secret"
    secret.write_text("a-secret-of-enough-length\n")
    added = cli(
        "webhook",
        "add",
        "https://hooks.example.gov/flagramp",
        "--secret-file",
        str(secret),
        "--kind",
        "killed",
        "--kind",
        "paused",
        "--why",
        "ops channel",
    )
    assert added.exit_code == 0, added.output
    assert added.stdout == "webhook 1 in production: json, paused, killed\n"
    slack = cli("webhook", "add", "https://hooks.slack.test/T1", "--format", "slack")
    assert slack.stdout == "webhook 2 in production: slack, every kind\n"
    listed = json.loads(cli("webhook", "list", "--json").stdout)
    assert [(w["id"], w["signed"], w["kinds"]) for w in listed] == [
        (1, True, ["paused", "killed"]),
        (2, False, []),
    ]
    assert "a-secret-of-enough-length" not in cli("webhook", "list").stdout
    assert cli("webhook", "remove", "2").exit_code == 0
    changes = [c for c in store.changes_since(0) if c.kind == "webhook"]
    assert [(c.key, c.action, c.who, c.why) for c in changes] == [
        ("1", "add", "alice@va.gov", "ops channel"),
        ("2", "add", "alice@va.gov", ""),
        ("2", "remove", "alice@va.gov", ""),
    ]
    assert all("a-secret" not in json.dumps(c.after) for c in changes)


def test_a_json_webhook_without_a_secret_file_gets_one_printed_once(
    cli: Invoke,
) -> None:
    added = cli("webhook", "add", "http://127.0.0.1:9/h")
    lines = added.stdout.splitlines()
    assert lines[1].startswith("signing secret (shown once; give it to the receiver): ")
    assert len(lines[1].rsplit(" ", 1)[1]) == 64


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("add", "ftp://x.example.gov/"), "use an http:// or https:// URL"),
        (("add", "http://x.test/", "--kind", "boom"), "webhook kind 'boom': use one"),
        (("add", "http://x.test/", "--env", "a/b"), "invalid environment name"),
        (("remove", "7"), "no webhook 7 in environment 'production'"),
    ],
)
def test_webhook_errors_are_one_line_and_write_nothing(
    cli: Invoke, store: SqlFlagStore, args: tuple[str, ...], message: str
) -> None:
    before = store_state(store)
    assert_one_error(cli("webhook", *args), message)
    assert store_state(store) == before


def test_dispatch_once_delivers_and_the_list_shows_it(
    cli: Invoke, store: SqlFlagStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = tmp_path / "secret"
    secret.write_text("a-secret-of-enough-length")
    with (
        webhook_receiver(WebhookReceiver("a-secret-of-enough-length")) as receiver,
        smtp_sink(SmtpSink()) as sink,
    ):
        monkeypatch.setenv("FLAGRAMP_SMTP_URL", sink.url)
        cli("webhook", "add", receiver.url, "--secret-file", str(secret))
        commit_notice(store)
        sent = cli("notifications", "dispatch", "--once")
        assert sent.stdout == "2 delivered, 0 to retry, 0 failed\n"
    assert [r.signed_ok for r in receiver.requests] == [True]
    assert [str(m["To"]) for m in sink.messages] == ["eng.lead@example.gov"]
    listed = json.loads(cli("notifications", "list", "--json").stdout)
    assert sorted((d["channel"], d["status"], d["attempts"]) for d in listed) == [
        ("email", "delivered", 1),
        ("webhook", "delivered", 1),
    ]
    shown = json.loads(
        cli("notifications", "show", listed[0]["delivery_id"], "--json").stdout
    )
    assert [(a["attempt"], a["outcome"]) for a in shown["log"]] == [(1, "delivered")]


def test_retry_sends_a_failed_delivery_again(cli: Invoke, store: SqlFlagStore) -> None:
    with webhook_receiver(WebhookReceiver(answers=[404])) as receiver:
        cli("webhook", "add", receiver.url, "--format", "slack")
        commit_notice(store)
        assert cli("notifications", "dispatch", "--once").stdout == (
            "0 delivered, 0 to retry, 1 failed\n"
        )
        [failed] = json.loads(
            cli("notifications", "list", "--status", "failed", "--json").stdout
        )
        assert failed["last_error"] == "HTTP 404: ok"
        assert (
            cli("notifications", "retry", "--failed").stdout == "1 delivery due again\n"
        )
        assert cli("notifications", "dispatch", "--once").stdout == (
            "1 delivered, 0 to retry, 0 failed\n"
        )
    assert len(receiver.requests) == 2
    assert_one_error(
        cli("notifications", "retry", failed["delivery_id"]),
        "was delivered already; nothing to retry",
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("show", "nope"), "no notification delivery 'nope'"),
        (("retry",), "name deliveries to retry, or say --failed"),
        (("list", "--status", "lost"), "status 'lost' is not one of"),
    ],
)
def test_notifications_errors_are_one_line(
    cli: Invoke, args: tuple[str, ...], message: str
) -> None:
    assert_one_error(cli("notifications", *args), message)
