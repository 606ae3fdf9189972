"""Who is looking at the dashboard: the session, checked on every request.

`viewer(request)` reads the signed session cookie and loads the token whose id
it holds from the token store (a revoked or deleted token logs the browser out
at its next request); `posted(request, viewer)` reads a form and refuses it (403) when
its `csrf_token` is not the session's. Pages that need a login send a browser
without one to the login page (htmx requests get `HX-Redirect`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import anyio.to_thread
from starlette.requests import HTTPConnection, Request

from flagramp.server.dashboard.forms import FormTooLarge, read_form
from flagramp.server.dashboard.offers import offers
from flagramp.server.dashboard.rendering import Pages
from flagramp.server.dashboard.runs_port import RunsPort
from flagramp.server.dashboard.session import COOKIE, Session, SessionCodec
from flagramp.server.dashboard.stream_slots import StreamSlots
from flagramp.server.identity import Identity
from flagramp.server.state import server_state
from flagramp.store.tokens import Permission


@dataclass
class DashboardState:
    """What the dashboard holds besides the server's state."""

    sessions: SessionCodec
    pages: Pages
    runs: RunsPort | None = None
    streams: StreamSlots = field(default_factory=StreamSlots)


def dashboard_state(connection: HTTPConnection) -> DashboardState:
    state = connection.app.state.dashboard
    assert isinstance(state, DashboardState)
    return state


class LoginNeeded(Exception):
    """The request has no valid session: answered by a way to the login page."""


class FormRefused(Exception):
    """A posted form without this session's CSRF nonce (or too large)."""


@dataclass(frozen=True, slots=True)
class Viewer:
    """A logged-in person: their token's identity and their session."""

    identity: Identity
    session: Session

    @property
    def who(self) -> str:
        return self.identity.who

    def context(self) -> dict[str, object]:
        """What every page's template gets about its viewer."""
        return {
            "who": self.who,
            "permission": self.identity.token.permission.value,
            "csrf": self.session.csrf,
            "may": offers(self.identity),
        }


async def viewer(request: Request) -> Viewer:
    """The request's logged-in viewer; raises LoginNeeded."""
    server = server_state(request)
    session = dashboard_state(request).sessions.decode(request.cookies.get(COOKIE))
    if session is None or session.is_expired(server.session_clock.now()):
        raise LoginNeeded
    # The signature stands for the secret checked at login; the store says
    # whether the token is still good now.
    record = await anyio.to_thread.run_sync(server.tokens.active, session.token_id)
    if record is None or record.permission is Permission.SDK:
        raise LoginNeeded
    return Viewer(Identity(record), session)


async def posted(request: Request, who: Viewer) -> dict[str, str]:
    """The form posted by `who`; raises FormRefused unless it carries the
    session's CSRF nonce (as `csrf_token`, or htmx's `X-CSRF-Token` header)."""
    try:
        form = await read_form(request)
    except FormTooLarge as exc:
        raise FormRefused("the form is too large") from exc
    sent = form.get("csrf_token") or request.headers.get("x-csrf-token")
    if not who.session.csrf_matches(sent):
        raise FormRefused("the form has expired or did not come from this dashboard")
    return form


def is_https(request: HTTPConnection) -> bool:
    """Whether the browser reached us over https (cookies are Secure then)."""
    return request.url.scheme == "https"
