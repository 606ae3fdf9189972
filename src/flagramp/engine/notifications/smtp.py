"""Where e-mail goes: `FLAGRAMP_SMTP_URL` and `FLAGRAMP_SMTP_FROM`.

`smtp://host:port` (plain, as a local relay or a test sink takes it),
`smtp://host:587?starttls=true` (STARTTLS), `smtps://host:465` (TLS from the
first byte); `user:password@` in the URL logs in. The sender defaults to
`flagramp@localhost`.
"""

from __future__ import annotations

import os
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from urllib.parse import parse_qs, unquote, urlsplit

from flagramp.core.errors import NotificationError
from flagramp.engine.notify import SMTP_URL_VARIABLE, email_address

SMTP_FROM_VARIABLE = "FLAGRAMP_SMTP_FROM"
DEFAULT_SENDER = "flagramp@localhost"
#: Seconds to connect and for each reply of the server.
SMTP_TIMEOUT = 10.0


@dataclass(frozen=True)
class SmtpSettings:
    """An SMTP server to send through, and the sender's address."""

    host: str
    port: int
    sender: str = DEFAULT_SENDER
    security: str = "none"
    """none, starttls or ssl."""
    username: str | None = None
    password: str | None = None
    timeout: float = SMTP_TIMEOUT

    @classmethod
    def from_url(cls, url: str, sender: str | None = None) -> SmtpSettings:
        """Settings from an `smtp://` or `smtps://` URL; NotificationError if the
        URL or the sender cannot be used."""
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError as exc:
            raise NotificationError(f"{SMTP_URL_VARIABLE}: {exc}") from exc
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise NotificationError(
                f"{SMTP_URL_VARIABLE} must look like smtp://host:port or "
                f"smtps://host:port, not {url!r}"
            )
        query = parse_qs(parts.query)
        starttls = query.get("starttls", ["false"])[-1].lower() in ("1", "true")
        security = "ssl" if parts.scheme == "smtps" else "none"
        if starttls:
            security = "starttls"
        chosen = sender or DEFAULT_SENDER
        if chosen != DEFAULT_SENDER and email_address(chosen) is None:
            raise NotificationError(
                f"{SMTP_FROM_VARIABLE} must be one e-mail address, not {chosen!r}"
            )
        return cls(
            host=parts.hostname,
            port=port or (465 if security == "ssl" else 25),
            sender=chosen,
            security=security,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
        )

    @classmethod
    def configured(cls) -> SmtpSettings | None:
        """The settings of this process's environment, or None without a URL."""
        url = os.environ.get(SMTP_URL_VARIABLE)
        if not url:
            return None
        return cls.from_url(url, os.environ.get(SMTP_FROM_VARIABLE) or None)

    def send(self, message: EmailMessage) -> None:
        """Send one message; smtplib's and the socket's errors pass through."""
        client: smtplib.SMTP
        if self.security == "ssl":
            context = ssl.create_default_context()
            client = smtplib.SMTP_SSL(
                self.host, self.port, timeout=self.timeout, context=context
            )
        else:
            client = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        with client:
            if self.security == "starttls":
                client.starttls(context=ssl.create_default_context())
            if self.username is not None:
                client.login(self.username, self.password or "")
            client.send_message(message)
