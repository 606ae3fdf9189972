"""Keeping the flags current: what both clients' update loops do around the I/O.

The stream (`GET /stream`) sends a snapshot, then every change with its store
version as the SSE id (after a backup restore: the version and the store's new
epoch, with a fresh snapshot first). A client that loses the line reconnects
after a jittered, growing delay and sends back the last id as `Last-Event-ID`,
so the server replays every change since (or, for an id from before a restore,
sends a snapshot): nothing is missed. The first connection of a process sends no id,
so it always starts from a fresh snapshot (a cache from an earlier run may be
from another store).

A server that does not serve the stream (404, 405, 501, or an answer that is not
`text/event-stream`, as some proxies give) switches the client to polling the
snapshot with `If-None-Match`; a 304 costs no body.
"""

from __future__ import annotations

import json
import logging
from urllib.parse import quote

import httpx

from flagramp.core.errors import InvalidSnapshot, SdkError
from flagramp.sdk._backoff import Backoff
from flagramp.sdk._base import BaseClient
from flagramp.sdk._documents import parse_snapshot
from flagramp.sdk._http import describe

logger = logging.getLogger("flagramp.sdk")

#: Statuses that mean "no stream here": poll instead.
NO_STREAM = (404, 405, 501)


class StreamUnsupported(SdkError):
    """The server (or a proxy before it) does not serve the SSE stream."""

    def __init__(self, detail: str) -> None:
        self.detail = detail
        super().__init__(f"the flag stream is not served: {detail}")


class UpdateRefused(SdkError):
    """The server answered an update request with an error status."""

    def __init__(self, what: str, response: httpx.Response) -> None:
        self.what = what
        self.status = response.status_code
        super().__init__(f"{what}: {describe(response)}")


class UpdateState:
    """One update loop's mode, backoff and connection state (for its log lines)."""

    def __init__(self, client: BaseClient, backoff: Backoff) -> None:
        self.client = client
        self.mode = client._options.updates
        self.backoff = backoff
        self.failing = False

    def stream_headers(self) -> dict[str, str]:
        headers = {"Accept": "text/event-stream", "Cache-Control": "no-store"}
        table = self.client._table
        if table.source == "server":
            headers["Last-Event-ID"] = self.client._position or str(table.version)
        return headers

    def stream_params(self) -> dict[str, str]:
        return {"environment": self.client.environment}

    def check_stream(self, response: httpx.Response) -> None:
        """Raise unless `response` is a live event stream (body already read when
        it is not)."""
        status = response.status_code
        if status in NO_STREAM:
            raise StreamUnsupported(describe(response))
        if status != 200:
            raise UpdateRefused("the flag stream", response)
        content_type = response.headers.get("content-type", "").partition(";")[0]
        if content_type.strip() != "text/event-stream":
            raise StreamUnsupported(f"the answer is {content_type or 'untyped'}")

    def snapshot_path(self) -> str:
        return f"/environments/{quote(self.client.environment, safe='')}/snapshot"

    def poll_headers(self) -> dict[str, str]:
        table = self.client._table
        if table.source != "server":
            return {}
        return {"If-None-Match": f'"{self.client._position or table.version}"'}

    def read_poll(self, response: httpx.Response) -> None:
        """Apply a polled snapshot (nothing for a 304); raises for errors."""
        if response.status_code == 304:
            return
        if response.status_code != 200:
            raise UpdateRefused("the flag snapshot", response)
        try:
            document = json.loads(response.content)
        except ValueError:
            raise InvalidSnapshot("polled snapshot", "the body is not JSON") from None
        self.client._apply_snapshot(
            parse_snapshot(document, "polled snapshot"), "server"
        )
        self.client._position = etag_value(response.headers.get("etag"))

    def received(self) -> None:
        """Flags arrived: reset the backoff, say so if the line had been failing."""
        self.backoff.reset()
        if self.failing:
            self.failing = False
            logger.warning(
                "flagramp: flag updates flow again (version %s)", self.client.version
            )

    def failed(self, error: Exception) -> float:
        """Log the failure (once per outage) and return how long to wait."""
        if isinstance(error, StreamUnsupported):
            logger.warning("flagramp: %s; polling the snapshot instead", error)
            self.mode = "poll"
            return 0.0
        if not self.failing:
            self.failing = True
            logger.warning(
                "flagramp: cannot update the flags (%s); serving version %s from %s "
                "and retrying",
                _short(error),
                self.client.version,
                self.client.source,
            )
        else:
            logger.debug("flagramp: update attempt failed: %s", _short(error))
        return self.backoff.next_delay()

    def poll_delay(self) -> float:
        """The wait between polls: the interval, give or take 10 %."""
        interval = self.client._options.poll_interval
        return interval * (0.9 + 0.2 * self.client._random())


def etag_value(etag: str | None) -> str | None:
    """What an ETag names (`"42.3fa2…"` → `42.3fa2…`), or None without one."""
    if not etag:
        return None
    value = etag.strip().removeprefix("W/").strip('"')
    return value or None


def _short(error: Exception) -> str:
    text = str(error) or type(error).__name__
    return text if len(text) <= 300 else text[:300] + "..."
