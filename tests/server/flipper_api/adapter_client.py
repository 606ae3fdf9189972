"""An HTTP client that sends what Ruby's `Flipper::Adapters::Http` sends.

Written from flagramp's Flipper reference (section (a)): the same paths, bodies and
headers, for Flipper main (1.4: lower-case headers, keys escaped in paths, ETags)
and for 0.25 (Title-Case headers, raw keys in paths). Requests go out as built,
through an httpx transport (the app in process, or a real socket), so nothing adds
headers behind the test's back except Host and Content-Length, as Net::HTTP does.
"""

from __future__ import annotations

import json
import re
import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import anyio
import httpx

from flagramp.core.types import Json

BASE_URL = "http://flagramp.test/flipper/api"
MOUNT = "/flipper/api"

#: Net::HTTP's own default (which it inflates by itself) when nothing replaces it.
NET_HTTP_ACCEPT_ENCODING = "gzip;q=1.0,deflate;q=0.6,identity;q=0.3"

Sender = Callable[[httpx.Request], httpx.Response]


@dataclass(frozen=True)
class Profile:
    """One Flipper version's HTTP adapter."""

    version: str
    title_case_headers: bool
    escape_keys: bool
    sends_exclude_gate_names: bool

    def headers(self) -> dict[str, str]:
        """The adapter's headers. (Net::HTTP would add its Accept-Encoding, but the
        adapter's `initialize_http_header` replaces every header it set; Flipper
        Cloud's configuration adds `accept-encoding: gzip` itself.)"""
        base = {
            "content-type": "application/json",
            "accept": "application/json",
            "user-agent": f"Flipper HTTP Adapter v{self.version}",
            "client-language": "ruby",
            "client-language-version": "3.1.2 p20 (2022-04-12)",
            "client-platform": "x86_64-linux-gnu",
            "client-engine": "ruby",
            "client-pid": "4242",
            "client-thread": "1234",
            "client-hostname": "rails-app-1",
        }
        if not self.title_case_headers:
            return base
        return {
            "-".join(p.capitalize() for p in k.split("-")): v for k, v in base.items()
        }


MAIN = Profile("1.4.2", False, True, True)
V025 = Profile("0.25.4", True, False, False)


def path_escape(key: str) -> str:
    """Flipper main: escape everything but `[A-Za-z0-9_.~-]` (0.25 sends keys raw)."""
    return "".join(
        ch if re.fullmatch(r"[A-Za-z0-9_.~-]", ch) else urllib.parse.quote(ch, safe="")
        for ch in key
    )


@dataclass
class FlipperHttpClient:
    """Requests as the adapter builds them; each method returns the response."""

    send: Sender
    profile: Profile = MAIN
    base_url: str = BASE_URL
    extra_headers: Mapping[str, str] = field(default_factory=dict)
    last_etag: str | None = None

    # --- the adapter's methods ----------------------------------------------

    def get(self, key: str) -> httpx.Response:
        return self.request("GET", f"/features/{self._key(key)}")

    def get_multi(self, keys: Sequence[str]) -> httpx.Response:
        if self.profile.sends_exclude_gate_names and any("," in k for k in keys):
            pairs = [("keys[]", k) for k in keys] + [("exclude_gate_names", "true")]
            return self.request("GET", f"/features?{urllib.parse.urlencode(pairs)}")
        csv = ",".join(urllib.parse.quote_plus(k) for k in keys)
        if not self.profile.escape_keys:
            csv = ",".join(keys)
        tail = (
            "&exclude_gate_names=true" if self.profile.sends_exclude_gate_names else ""
        )
        return self.request("GET", f"/features?keys={csv}{tail}")

    def get_all(self, *, cache_bust: int | None = None) -> httpx.Response:
        query = (
            "?exclude_gate_names=true" if self.profile.sends_exclude_gate_names else ""
        )
        if cache_bust is not None:
            query += f"&_cb={cache_bust}"
        headers = {}
        if self.last_etag and cache_bust is None and self.profile.escape_keys:
            headers["if-none-match"] = self.last_etag
        response = self.request("GET", f"/features{query}", headers=headers)
        if response.status_code == 200 and "etag" in response.headers:
            self.last_etag = response.headers["etag"]
        return response

    def add(self, key: str) -> httpx.Response:
        return self.request("POST", "/features", {"name": key})

    def remove(self, key: str) -> httpx.Response:
        return self.request("DELETE", f"/features/{self._key(key)}")

    def clear(self, key: str) -> httpx.Response:
        return self.request("DELETE", f"/features/{self._key(key)}/clear")

    def enable(self, key: str, gate: str, value: Any = None) -> httpx.Response:
        return self.request(
            "POST", self._gate_path(key, gate), self._gate_body(gate, value)
        )

    def disable(self, key: str, gate: str, value: Any = None) -> httpx.Response:
        body = self._gate_body(gate, value)
        if gate in ("percentage_of_actors", "percentage_of_time"):
            return self.request("POST", self._gate_path(key, gate), {"percentage": "0"})
        if gate == "expression":
            body = {"All": []}
        return self.request("DELETE", self._gate_path(key, gate), body)

    def import_document(self, document: Json) -> httpx.Response:
        return self.request("POST", "/import", document)

    # --- plumbing -----------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        body: Json | bytes | None = None,
        *,
        headers: Mapping[str, str] | None = None,
        replace_headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """One request; `replace_headers` sends exactly those headers instead."""
        sent = dict(
            replace_headers if replace_headers is not None else self.profile.headers()
        )
        if replace_headers is None:
            sent.update(self.extra_headers)
            sent.update(headers or {})
        content = body if isinstance(body, bytes) else None
        if body is not None and not isinstance(body, bytes):
            content = json.dumps(
                body, separators=(",", ":"), ensure_ascii=False
            ).encode()
        request = httpx.Request(
            method, self.base_url + path, headers=sent, content=content
        )
        return self.send(request)

    def _key(self, key: str) -> str:
        return path_escape(key) if self.profile.escape_keys else key

    def _gate_path(self, key: str, gate: str) -> str:
        tail = "?allow_unregistered_groups=true" if gate == "groups" else ""
        return f"/features/{self._key(key)}/{gate}{tail}"

    @staticmethod
    def _gate_body(gate: str, value: Any) -> Json:
        if gate == "boolean":
            return {}
        if gate == "groups":
            return {"name": str(value)}
        if gate == "actors":
            return {"flipper_id": str(value)}
        if gate in ("percentage_of_actors", "percentage_of_time"):
            return {"percentage": str(value)}
        if gate == "expression":
            assert isinstance(value, dict)
            return value
        raise ValueError(f"{gate} is not a Flipper gate")


def asgi_sender(app: Any, root_path: str = MOUNT) -> Sender:
    """Send to an ASGI app in this process, mounted at `root_path`."""
    transport = httpx.ASGITransport(app=app, root_path=root_path)

    async def send(request: httpx.Request) -> httpx.Response:
        response = await transport.handle_async_request(request)
        await response.aread()
        return response

    return lambda request: anyio.run(send, request)


@dataclass(frozen=True)
class RawResponse:
    """An answer as it came over the wire: the body not inflated."""

    status: int
    headers: httpx.Headers
    body: bytes


def raw_asgi(
    app: Any, method: str, path: str, headers: Mapping[str, str], root_path: str = MOUNT
) -> RawResponse:
    """One request to an ASGI app, the answer's bytes exactly as sent."""
    transport = httpx.ASGITransport(app=app, root_path=root_path)
    request = httpx.Request(method, BASE_URL + path, headers=dict(headers))

    async def send() -> RawResponse:
        response = await transport.handle_async_request(request)
        assert isinstance(response.stream, httpx.AsyncByteStream)
        body = b"".join([chunk async for chunk in response.stream])
        return RawResponse(response.status_code, response.headers, body)

    return anyio.run(send)


def socket_sender() -> Sender:
    """Send over a real TCP connection (a live server)."""
    transport = httpx.HTTPTransport()

    def send(request: httpx.Request) -> httpx.Response:
        response = transport.handle_request(request)
        response.read()
        return response

    return send


def features_by_key(response: httpx.Response) -> dict[str, Any]:
    """`GET /features`'s answer as key → feature."""
    return {f["key"]: f for f in response.json()["features"]}
