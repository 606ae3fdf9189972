"""One attempt to deliver one outbox row, and what came of it.

Which failures are worth a retry: a network error, a timeout, HTTP 5xx, 408,
425 and 429, SMTP 4xx. A receiver that answers another 4xx, a redirect (never
followed: a signed body goes only where it was configured to go) or SMTP 5xx
refused the delivery, and asking again would get the same answer: it fails at
once.
"""

from __future__ import annotations

import smtplib
from dataclasses import dataclass
from enum import StrEnum

import httpx

from flagramp.engine.notifications.payloads import (
    email_message,
    json_body,
    slack_body,
)
from flagramp.engine.notifications.signing import (
    DELIVERY_HEADER,
    KIND_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    signature,
)
from flagramp.engine.notifications.smtp import SmtpSettings
from flagramp.engine.notifications.webhooks import Webhook, WebhookFormat
from flagramp.engine.notify import Notice

RETRIED_STATUS = frozenset({408, 425, 429})
#: How much of an error or a response body the delivery log keeps.
ERROR_MAX = 500
USER_AGENT = "flagramp-notifications"


class Outcome(StrEnum):
    """What one attempt came to."""

    DELIVERED = "delivered"
    RETRY = "retry"
    """Failed in a way that may pass later."""
    REFUSED = "refused"
    """Failed in a way that will not pass by asking again."""


@dataclass(frozen=True)
class Attempt:
    """The result of one attempt, as the delivery log keeps it."""

    outcome: Outcome
    response_code: int | None = None
    error: str | None = None
    retry_after: float | None = None
    """Seconds the receiver asked us to wait (HTTP Retry-After), if it did."""


def send_webhook(
    client: httpx.Client,
    webhook: Webhook,
    notice: Notice,
    delivery_id: str,
    timestamp: int,
) -> Attempt:
    """POST the notice to the webhook, signed when it has a secret."""
    if webhook.format is WebhookFormat.SLACK:
        body = slack_body(notice)
    else:
        body = json_body(notice, delivery_id)
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": USER_AGENT,
        DELIVERY_HEADER: delivery_id,
        KIND_HEADER: notice.kind.value,
        TIMESTAMP_HEADER: str(timestamp),
    }
    if webhook.secret is not None:
        headers[SIGNATURE_HEADER] = signature(webhook.secret, timestamp, body)
    try:
        response = client.post(webhook.url, content=body, headers=headers)
    except httpx.HTTPError as exc:
        return Attempt(Outcome.RETRY, error=_short(f"{type(exc).__name__}: {exc}"))
    code = response.status_code
    if 200 <= code < 300:
        return Attempt(Outcome.DELIVERED, response_code=code)
    said = _short(f"HTTP {code}: {response.text}")
    if code >= 500 or code in RETRIED_STATUS:
        wait = _retry_after(response.headers.get("Retry-After"))
        return Attempt(Outcome.RETRY, code, said, wait)
    return Attempt(Outcome.REFUSED, code, said)


def send_email(
    settings: SmtpSettings, notice: Notice, delivery_id: str, recipient: str
) -> Attempt:
    """Send the notice's e-mail to one recipient through `settings`' server."""
    message = email_message(
        notice, delivery_id, sender=settings.sender, recipient=recipient
    )
    try:
        settings.send(message)
    except smtplib.SMTPRecipientsRefused as exc:
        codes = [code for code, _ in exc.recipients.values()]
        return _smtp_failure(codes[0] if codes else None, exc)
    except smtplib.SMTPResponseException as exc:
        return _smtp_failure(exc.smtp_code, exc)
    except (smtplib.SMTPException, OSError) as exc:
        return Attempt(Outcome.RETRY, error=_short(f"{type(exc).__name__}: {exc}"))
    return Attempt(Outcome.DELIVERED, response_code=250)


def _smtp_failure(code: int | None, exc: Exception) -> Attempt:
    said = _short(f"{type(exc).__name__}: {exc}")
    if code is not None and 500 <= code < 600:
        return Attempt(Outcome.REFUSED, code, said)
    return Attempt(Outcome.RETRY, code, said)


def _retry_after(value: str | None) -> float | None:
    # Only the seconds form; an HTTP date is rare from webhook receivers.
    if value is None:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    return seconds if 0 <= seconds < 86_400 else None


def _short(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= ERROR_MAX else flat[: ERROR_MAX - 1] + "…"
