"""Logging in with a token, and out.

The login form is protected by a double-submit nonce (a cookie and a hidden
field that must match), since there is no session yet to bind one to. A failed
login counts against the client address like a failed API authentication
(`FailureLimiter`), so the form is no way around the API's 429. SDK tokens are
for applications and cannot log in.
"""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated

import anyio.to_thread
from fastapi import APIRouter, Depends, Request
from starlette.responses import RedirectResponse, Response

from flagramp.server.dashboard.access import (
    Viewer,
    dashboard_state,
    is_https,
    posted,
    viewer,
)
from flagramp.server.dashboard.forms import FormTooLarge, read_form
from flagramp.server.dashboard.session import (
    COOKIE,
    LOGIN_COOKIE,
    SESSION_SECONDS,
    delete_cookie,
    set_cookie,
)
from flagramp.server.identity import refusal_reason
from flagramp.server.state import server_state
from flagramp.store.tokens import Permission

router = APIRouter(include_in_schema=False)


def _login_page(
    request: Request, *, error: str | None = None, status: int = 200
) -> Response:
    nonce = secrets.token_urlsafe(24)
    response = dashboard_state(request).pages.render(
        "login.html", {"csrf": nonce, "error": error, "who": None}, status=status
    )
    set_cookie(response, LOGIN_COOKIE, nonce, max_age=600, secure=is_https(request))
    return response


@router.get("/login")
def login_form(request: Request) -> Response:
    """The login page: one token field."""
    return _login_page(request)


@router.post("/login")
async def login(request: Request) -> Response:
    """Check the token; on success set the session cookie and go to the runs."""
    server = server_state(request)
    client = request.client.host if request.client else "unknown"
    wait = server.auth_limiter.retry_after(client)
    if wait is not None:
        return _login_page(
            request,
            error=f"Too many failed logins; try again in {max(1, round(wait))} s.",
            status=429,
        )
    try:
        form = await read_form(request)
    except FormTooLarge:
        return _login_page(request, error="The form is too large.", status=413)
    nonce = request.cookies.get(LOGIN_COOKIE, "")
    sent = form.get("csrf_token", "")
    if not nonce or not hmac.compare_digest(nonce, sent):
        return _login_page(
            request, error="The form expired; please log in again.", status=403
        )
    token = form.get("token", "").strip()
    shown = (
        await anyio.to_thread.run_sync(server.tokens.presented, token)
        if token
        else None
    )
    now = server.tokens.now()
    record = shown if shown is not None and shown.is_usable(now) else None
    if record is None or record.permission is Permission.SDK:
        reason = refusal_reason(token or None, shown, now)
        server.auth_limiter.fail(client)
        server.metrics.auth_failures.labels(reason).inc()
        message = (
            "SDK tokens are for applications; log in with a person's token."
            if record is not None
            else "That token has expired."
            if reason == "expired"
            else "That token is unknown or revoked."
        )
        return _login_page(request, error=message, status=401)
    state = dashboard_state(request)
    # The cookie carries the token's id, never the token itself.
    session = state.sessions.new(record.id, server.session_clock.now())
    response = RedirectResponse("/dashboard/", status_code=303)
    secure = is_https(request)
    value = state.sessions.encode(session)
    set_cookie(response, COOKIE, value, max_age=SESSION_SECONDS, secure=secure)
    delete_cookie(response, LOGIN_COOKIE, secure=secure)
    return response


@router.post("/logout")
async def logout(request: Request, who: Annotated[Viewer, Depends(viewer)]) -> Response:
    """End the session (the form carries the CSRF nonce like every other)."""
    await posted(request, who)
    response = RedirectResponse("/dashboard/login", status_code=303)
    delete_cookie(response, COOKIE, secure=is_https(request))
    return response
