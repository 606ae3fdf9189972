"""Backoff, signatures, SMTP settings and what counts as worth a retry."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import random

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from flagramp.core.errors import NotificationError, WebhookInvalid
from flagramp.engine.notifications.retries import RetryPolicy
from flagramp.engine.notifications.sending import Outcome, send_email, send_webhook
from flagramp.engine.notifications.signing import is_valid_signature, signature
from flagramp.engine.notifications.smtp import SmtpSettings
from flagramp.engine.notifications.webhooks import (
    Webhook,
    WebhookFormat,
    check_kinds,
    check_url,
)
from flagramp.engine.notify import Notice, NoticeKind
from tests.engine.notifications.receivers import (
    SmtpSink,
    WebhookReceiver,
    free_port,
    smtp_sink,
    webhook_receiver,
)

POLICY = RetryPolicy()
NOTICE = Notice(
    NoticeKind.KILLED,
    "run-1",
    "production",
    "killed",
    "by on-call",
    "run-1:3",
    dt.datetime(2026, 11, 23, tzinfo=dt.UTC),
)


@given(st.integers(1, 200), st.integers(0, 2**32 - 1))
def test_each_wait_is_between_half_and_all_of_its_doubling_step(
    failures: int, seed: int
) -> None:
    step = min(30 * 2 ** min(failures - 1, 60), 3600)
    wait = POLICY.delay(failures, random.Random(seed)).total_seconds()
    assert step / 2 <= wait <= step


@given(st.floats(0, 86_399), st.integers(1, 20))
def test_retry_after_is_honoured_up_to_the_longest_wait(
    retry_after: float, failures: int
) -> None:
    wait = POLICY.delay(failures, random.Random(1), retry_after).total_seconds()
    # timedelta keeps microseconds: allow one.
    assert min(retry_after, 3600) - 1e-6 <= wait <= 3600


class Fixed(random.Random):
    def __init__(self, value: float) -> None:
        super().__init__(0)
        self.value = value

    def random(self) -> float:
        return self.value


def test_the_default_budget_spans_about_one_and_a_half_to_three_hours() -> None:
    # Ten attempts: nine waits between them, shortest and longest jitter.
    def span(draw: float) -> float:
        waits = (POLICY.delay(n, Fixed(draw)) for n in range(1, POLICY.max_attempts))
        return sum(w.total_seconds() for w in waits) / 3600

    assert (round(span(0.0), 2), round(span(1.0), 2)) == (1.53, 3.06)


@pytest.mark.parametrize(
    "bad",
    [
        {"max_attempts": 0},
        {"first_delay": dt.timedelta(0)},
        {"first_delay": dt.timedelta(hours=2)},
        {"lease": dt.timedelta(0)},
    ],
)
def test_a_policy_that_cannot_work_is_refused(bad: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        RetryPolicy(**bad)  # type: ignore[arg-type]


def test_a_signature_is_hmac_sha256_of_timestamp_dot_body() -> None:
    body = b'{"delivery": "abc"}'
    expected = hmac.new(b"k" * 16, b"1700000000." + body, hashlib.sha256).hexdigest()
    assert signature("k" * 16, 1_700_000_000, body) == f"sha256={expected}"


@pytest.mark.parametrize(
    ("secret", "stamp", "body", "now", "valid"),
    [
        ("k" * 16, "1700000000", b"{}", 1_700_000_100, True),
        ("x" * 16, "1700000000", b"{}", 1_700_000_100, False),  # other secret
        ("k" * 16, "1700000000", b"{ }", 1_700_000_100, False),  # other body
        ("k" * 16, "1700000001", b"{}", 1_700_000_100, False),  # other time
        ("k" * 16, "1700000000", b"{}", 1_700_000_301, False),  # replayed late
        ("k" * 16, "soon", b"{}", 1_700_000_100, False),
    ],
)
def test_a_receiver_accepts_only_a_fresh_exact_signature(
    secret: str, stamp: str, body: bytes, now: float, valid: bool
) -> None:
    header = signature("k" * 16, 1_700_000_000, b"{}")
    assert is_valid_signature(secret, header, stamp, body, now=now) is valid


@pytest.mark.parametrize(
    ("url", "sender", "expected"),
    [
        ("smtp://127.0.0.1:8025", None, ("127.0.0.1", 8025, "none", None)),
        ("smtp://mail.test", "ops@example.gov", ("mail.test", 25, "none", None)),
        ("smtps://u%40x:p@mail.test", None, ("mail.test", 465, "ssl", "u@x")),
        (
            "smtp://mail.test:587?starttls=true",
            None,
            ("mail.test", 587, "starttls", None),
        ),
    ],
)
def test_smtp_settings_from_a_url(
    url: str, sender: str | None, expected: tuple[object, ...]
) -> None:
    settings = SmtpSettings.from_url(url, sender)
    assert (settings.host, settings.port, settings.security, settings.username) == (
        expected
    )
    assert settings.sender == (sender or "flagramp@localhost")


@pytest.mark.parametrize(
    ("url", "sender", "message"),
    [
        ("http://mail.test", None, "must look like smtp://host:port"),
        ("smtp://mail.test:99999", None, "FLAGRAMP_SMTP_URL: Port out of range"),
        ("smtp://mail.test", "not an address", "FLAGRAMP_SMTP_FROM must be one"),
    ],
)
def test_smtp_settings_that_cannot_work_are_named(
    url: str, sender: str | None, message: str
) -> None:
    with pytest.raises(NotificationError, match=message):
        SmtpSettings.from_url(url, sender)


@pytest.mark.parametrize(
    ("url", "detail"),
    [
        ("ftp://x.test/", "use an http:// or https:// URL"),
        ("http:///path", "use an http:// or https:// URL"),
        (" http://x.test/", "use 1 to 2000 characters"),
        ("http://x.test/\x1b[31m", "control characters"),
        ("http://" + "x" * 2000, "use 1 to 2000 characters"),
    ],
)
def test_a_webhook_url_that_cannot_be_used_is_refused(url: str, detail: str) -> None:
    with pytest.raises(WebhookInvalid, match=detail):
        check_url(url)


def test_kinds_are_kept_once_in_their_order() -> None:
    assert check_kinds(["killed", "paused", "killed"]) == (
        NoticeKind.PAUSED,
        NoticeKind.KILLED,
    )


@pytest.mark.parametrize(
    ("answer", "outcome"),
    [
        (200, Outcome.DELIVERED),
        (204, Outcome.DELIVERED),
        (301, Outcome.REFUSED),  # never followed: the body goes where configured
        (400, Outcome.REFUSED),
        (401, Outcome.REFUSED),
        (404, Outcome.REFUSED),
        (408, Outcome.RETRY),
        (425, Outcome.RETRY),
        (429, Outcome.RETRY),
        (500, Outcome.RETRY),
        (503, Outcome.RETRY),
    ],
)
def test_what_a_webhook_answer_comes_to(answer: int, outcome: Outcome) -> None:
    with (
        webhook_receiver(WebhookReceiver(answers=[answer])) as receiver,
        httpx.Client(follow_redirects=False) as client,
    ):
        webhook = Webhook(
            1, "production", receiver.url, WebhookFormat.SLACK, None, (), "", "x"
        )
        attempt = send_webhook(client, webhook, NOTICE, "d" * 32, 1_700_000_000)
    assert attempt.outcome is outcome
    assert attempt.response_code == answer
    assert attempt.retry_after == (1.0 if answer in (429, 503) else None)


def test_a_webhook_nobody_listens_on_is_retried() -> None:
    url = f"http://127.0.0.1:{free_port()}/hook"
    webhook = Webhook(1, "production", url, WebhookFormat.SLACK, None, (), "", "x")
    with httpx.Client() as client:
        attempt = send_webhook(client, webhook, NOTICE, "d" * 32, 1_700_000_000)
    assert attempt.outcome is Outcome.RETRY and attempt.response_code is None
    assert attempt.error is not None and attempt.error.startswith("ConnectError")


@pytest.mark.parametrize(
    ("answer", "outcome", "code"),
    [
        ("250 OK", Outcome.DELIVERED, 250),
        ("451 greylisted", Outcome.RETRY, 451),
        ("554 rejected as spam", Outcome.REFUSED, 554),
    ],
)
def test_what_an_smtp_answer_comes_to(answer: str, outcome: Outcome, code: int) -> None:
    with smtp_sink(SmtpSink(answers=[answer])) as sink:
        settings = SmtpSettings.from_url(sink.url)
        attempt = send_email(settings, NOTICE, "d" * 32, "po@example.gov")
    assert (attempt.outcome, attempt.response_code) == (outcome, code)


def test_an_smtp_server_nobody_runs_is_retried() -> None:
    settings = SmtpSettings.from_url(f"smtp://127.0.0.1:{free_port()}")
    attempt = send_email(settings, NOTICE, "d" * 32, "po@example.gov")
    assert attempt.outcome is Outcome.RETRY
