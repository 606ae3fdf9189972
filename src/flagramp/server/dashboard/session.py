"""The dashboard's session cookie: which token a person logged in with, signed.

The cookie holds the token's *id* (never the token: its secret stays with the
person), a CSRF nonce and when the session began, signed with HMAC-SHA256
under the server's session key. Reading the cookie therefore gives nobody an
API credential: at most this dashboard session, which dies with its 12 hours
or its token. The signature proves
the server wrote the cookie after a login with that token; the id is looked up
in the token store on every request (`access.viewer`), so a revoked token ends
its sessions at the next click. The cookie is HttpOnly (scripts cannot read
it), SameSite=Strict (no other site's page sends it) and Secure on https.

Cookies written before the id replaced the token (they hold `t`, not `k`) read
as no session: their holders log in again.

Forms carry the nonce (`csrf_token`); a POST whose nonce is not the session's
is refused. The nonce is bound to the session, so one stolen from an old page
dies with its session.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass

from starlette.responses import Response

from flagramp.store.token_tables import TOKEN_ID_MAX

#: The session cookie's name.
COOKIE = "flagramp_session"
#: The cookie that carries the login form's CSRF nonce (double-submit: the
#: login form has no session to bind it to yet).
LOGIN_COOKIE = "flagramp_login_csrf"
#: Where the cookies are sent: the dashboard only, never the API.
PATH = "/dashboard"
#: How long a session lasts, however active.
SESSION_SECONDS = 12 * 3600


@dataclass(frozen=True, slots=True)
class Session:
    """One logged-in browser: its token's id, its CSRF nonce, when it began."""

    token_id: str
    csrf: str
    issued_at: dt.datetime

    def is_expired(self, now: dt.datetime) -> bool:
        return (now - self.issued_at).total_seconds() > SESSION_SECONDS

    def csrf_matches(self, sent: str | None) -> bool:
        """Whether a form's `csrf_token` is this session's (constant time)."""
        return sent is not None and hmac.compare_digest(sent, self.csrf)


class SessionCodec:
    """Signs sessions into cookie values and reads them back."""

    def __init__(self, key: bytes) -> None:
        if len(key) < 16:
            raise ValueError("a session key needs at least 16 bytes")
        self._key = key

    @classmethod
    def from_setting(cls, key: str | None) -> SessionCodec:
        """A codec for the configured key, or a random one for this process."""
        if key is None:
            return cls(secrets.token_bytes(32))
        return cls(hashlib.sha256(key.encode()).digest())

    def new(self, token_id: str, now: dt.datetime) -> Session:
        """A fresh session (a new CSRF nonce) for the token `token_id`."""
        return Session(token_id, secrets.token_urlsafe(24), now)

    def encode(self, session: Session) -> str:
        """The cookie value: the session as JSON, base64url, a dot, its HMAC."""
        body = json.dumps(
            {
                "k": session.token_id,
                "c": session.csrf,
                "i": session.issued_at.isoformat(),
            },
            separators=(",", ":"),
        ).encode()
        payload = base64.urlsafe_b64encode(body).decode().rstrip("=")
        return f"{payload}.{self._sign(payload)}"

    def decode(self, value: str | None) -> Session | None:
        """The session a cookie holds, or None for a missing, forged or damaged one."""
        if not value or "." not in value:
            return None
        payload, signature = value.rsplit(".", 1)
        if not hmac.compare_digest(signature, self._sign(payload)):
            return None
        try:
            padded = payload + "=" * (-len(payload) % 4)
            document = json.loads(base64.urlsafe_b64decode(padded))
            # An old cookie has the token under "t" and no "k": KeyError.
            token_id = document["k"]
            csrf = document["c"]
            issued_at = dt.datetime.fromisoformat(document["i"])
        except (ValueError, KeyError, TypeError, binascii.Error):
            return None
        if not isinstance(token_id, str) or not 0 < len(token_id) <= TOKEN_ID_MAX:
            return None
        if not isinstance(csrf, str) or not csrf or issued_at.tzinfo is None:
            return None
        return Session(token_id, csrf, issued_at)

    def _sign(self, payload: str) -> str:
        digest = hmac.new(self._key, payload.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def set_cookie(
    response: Response, name: str, value: str, *, max_age: int, secure: bool
) -> None:
    """Set a dashboard cookie: HttpOnly, SameSite=Strict, only for /dashboard,
    Secure when the browser came over https."""
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path=PATH,
        httponly=True,
        samesite="strict",
        secure=secure,
    )


def delete_cookie(response: Response, name: str, *, secure: bool) -> None:
    """Remove a dashboard cookie (same attributes as it was set with)."""
    response.delete_cookie(
        name, path=PATH, httponly=True, samesite="strict", secure=secure
    )
