"""Real receivers on loopback ports: a webhook server and an SMTP sink.

Both keep every request they get and what a careful receiver would accept: a
delivery counts once by its id, and a webhook's signature is checked here with
`hmac` directly, not with flagramp's own code. Either can be told to answer
with failures first, or to stall after it has read a delivery (so a test can
kill the sender between its send and its record).
"""

from __future__ import annotations

import contextlib
import email
import email.policy
import hashlib
import hmac
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

#: How long a stalled receiver waits to be released before answering anyway.
STALL_SECONDS = 30.0


def free_port() -> int:
    """A loopback port nobody listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class WebhookRequest:
    """One request the webhook server read."""

    path: str
    headers: dict[str, str]
    body: bytes
    signed_ok: bool | None
    """None when the receiver holds no secret for the path."""


@dataclass
class WebhookReceiver:
    """An HTTP server that answers `answers` in order (then 200) and keeps what
    it got; `secret` is checked on every request that carries a signature."""

    secret: str | None = None
    answers: list[int] = field(default_factory=list)
    delay: float = 0.0
    stall_first: bool = False
    pair_first: threading.Barrier | None = None
    """When set, the first two requests wait for each other (or give up after
    STALL_SECONDS): proof that two senders were sending at once."""
    requests: list[WebhookRequest] = field(default_factory=list)
    accepted: dict[str, bytes] = field(default_factory=dict)
    """Delivery id → body of each delivery answered 2xx, once per id."""
    got_one: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    url: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, request: WebhookRequest) -> int:
        with self.lock:
            self.requests.append(request)
            first = len(self.requests) == 1
            code = self.answers.pop(0) if self.answers else 200
            if 200 <= code < 300 and request.signed_ok is not False:
                delivery = request.headers.get("x-flagramp-delivery", "")
                self.accepted.setdefault(delivery, request.body)
        self.got_one.set()
        if first and self.stall_first:
            self.release.wait(STALL_SECONDS)
        if self.pair_first is not None and len(self.requests) <= 2:
            with contextlib.suppress(threading.BrokenBarrierError):
                self.pair_first.wait(STALL_SECONDS)
        if self.delay:
            time.sleep(self.delay)
        return code

    def check(self, headers: dict[str, str], body: bytes) -> bool | None:
        if self.secret is None:
            return None
        stamp = headers.get("x-flagramp-timestamp", "")
        sent = headers.get("x-flagramp-signature", "")
        digest = hmac.new(
            self.secret.encode(), stamp.encode() + b"." + body, hashlib.sha256
        ).hexdigest()
        fresh = stamp.isdigit() and abs(time.time() - int(stamp)) < 300
        return fresh and hmac.compare_digest(sent, f"sha256={digest}")


@contextmanager
def webhook_receiver(receiver: WebhookReceiver) -> Iterator[WebhookReceiver]:
    """Serve `receiver` on a free loopback port until the block ends."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            headers = {k.lower(): v for k, v in self.headers.items()}
            request = WebhookRequest(
                self.path, headers, body, receiver.check(headers, body)
            )
            code = receiver.answer(request)
            self.send_response(code)
            if code in (429, 503):
                self.send_header("Retry-After", "1")
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, format: str, *args: object) -> None:
            pass  # quiet: pytest shows what the assertions say

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    try:
        yield receiver
    finally:
        receiver.release.set()
        server.shutdown()
        server.server_close()


@dataclass
class SmtpSink:
    """An SMTP server that keeps every message it accepts, answering `answers`
    in order (then 250), or stalling before its answer to the first message."""

    answers: list[str] = field(default_factory=list)
    stall_first: bool = False
    messages: list[EmailMessage] = field(default_factory=list)
    got_one: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    port: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def by_delivery(self) -> dict[str, EmailMessage]:
        """One message per delivery id, as a receiver that dedupes keeps them."""
        kept: dict[str, EmailMessage] = {}
        for message in self.messages:
            kept.setdefault(str(message["X-Flagramp-Delivery"]), message)
        return kept

    async def handle_DATA(
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        content = envelope.original_content or b""
        parsed = email.message_from_bytes(content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        with self.lock:
            if self.answers:
                return self.answers.pop(0)
            self.messages.append(parsed)
            first = len(self.messages) == 1
        self.got_one.set()
        if first and self.stall_first:
            # Blocks aiosmtpd's loop on purpose: nothing else is served meanwhile.
            self.release.wait(STALL_SECONDS)
        return "250 OK"


@contextmanager
def smtp_sink(sink: SmtpSink) -> Iterator[SmtpSink]:
    """Run `sink` on a free loopback port until the block ends."""
    sink.port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=sink.port)
    controller.start()
    try:
        yield sink
    finally:
        sink.release.set()
        controller.stop()
