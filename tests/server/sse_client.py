"""A small SSE client for tests: a thread reads the stream into a queue."""

from __future__ import annotations

import contextlib
import json
import queue
import socket
import threading
from dataclasses import dataclass
from typing import Any

import httpx


@dataclass(frozen=True)
class SseEvent:
    """One event as received (comments are kept as `event="comment"`)."""

    event: str
    id: str | None
    data: str

    def json(self) -> Any:
        return json.loads(self.data)


class SseReader:
    """Reads `GET url` as an event stream until closed."""

    def __init__(self, url: str, headers: dict[str, str], timeout: float = 30) -> None:
        self.events: queue.Queue[SseEvent | BaseException] = queue.Queue()
        self.status: int | None = None
        self._client = httpx.Client(timeout=httpx.Timeout(timeout, read=None))
        self._opened = threading.Event()
        self._closed = False
        self._response: httpx.Response | None = None
        self._thread = threading.Thread(
            target=self._read, args=(url, headers), daemon=True
        )
        self._thread.start()
        if not self._opened.wait(timeout):
            raise TimeoutError(f"no answer from {url}")

    def _read(self, url: str, headers: dict[str, str]) -> None:
        try:
            with self._client.stream("GET", url, headers=headers) as response:
                self._response = response
                self.status = response.status_code
                self._opened.set()
                fields: dict[str, str] = {}
                data: list[str] = []
                for line in response.iter_lines():
                    if line.startswith(":"):
                        self.events.put(SseEvent("comment", None, line[1:].strip()))
                    elif line == "":
                        if data or fields:
                            self.events.put(
                                SseEvent(
                                    fields.get("event", "message"),
                                    fields.get("id"),
                                    "\n".join(data),
                                )
                            )
                        fields, data = {}, []
                    else:
                        name, _, value = line.partition(":")
                        value = value.removeprefix(" ")
                        if name == "data":
                            data.append(value)
                        else:
                            fields[name] = value
        except BaseException as exc:  # the reader thread reports, never dies silently
            if not self._closed:
                self.events.put(exc)
        finally:
            self._opened.set()

    def next(self, timeout: float = 10, *, skip_comments: bool = True) -> SseEvent:
        """The next event; raises TimeoutError if none comes in time."""
        while True:
            try:
                item = self.events.get(timeout=timeout)
            except queue.Empty:
                raise TimeoutError("no event in time") from None
            if isinstance(item, BaseException):
                raise item
            if skip_comments and item.event == "comment":
                continue
            return item

    def close(self) -> None:
        self._closed = True
        if self._response is not None:
            # Shut the socket down under the reading thread, which then ends.
            stream = self._response.extensions.get("network_stream")
            if stream is not None:
                sock = stream.get_extra_info("socket")
                if sock is not None:
                    with contextlib.suppress(OSError):
                        sock.shutdown(socket.SHUT_RDWR)
        self._thread.join(timeout=5)
        self._client.close()
