"""A client's options, checked once when it is built."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from flagramp.core.errors import InvalidClientOption

#: How a client hears about flag changes.
Updates = Literal["stream", "poll", "off"]
UPDATE_MODES: tuple[Updates, ...] = ("stream", "poll", "off")
API_PREFIX = "/api/v1"


@dataclass(frozen=True, slots=True)
class Options:
    """Everything a client was told, checked; `api_url` ends in /api/v1."""

    api_url: str | None
    token: str | None
    environment: str
    updates: Updates
    poll_interval: float
    flush_interval: float
    batch_size: int
    max_queue: int
    timeout: float
    send_events: bool
    retry_base: float
    retry_max: float
    cache_path: Path | None


def make_options(
    url: str | None,
    token: str | None,
    environment: str,
    *,
    updates: str,
    poll_interval: float,
    flush_interval: float,
    batch_size: int,
    max_queue: int,
    timeout: float,
    send_events: bool,
    retry_base: float,
    retry_max: float,
    cache_path: str | os.PathLike[str] | None,
) -> Options:
    """Check the options; raises InvalidClientOption naming the first bad one."""
    if not _is_text(environment):
        raise InvalidClientOption("environment", "must be a non-empty string")
    mode = _mode(updates)
    for name, value in (
        ("poll_interval", poll_interval),
        ("flush_interval", flush_interval),
        ("timeout", timeout),
        ("retry_base", retry_base),
        ("retry_max", retry_max),
    ):
        _positive(name, value)
    if retry_max < retry_base:
        raise InvalidClientOption("retry_max", "must be at least retry_base")
    for name, count in (("batch_size", batch_size), ("max_queue", max_queue)):
        if type(count) is not int or count < 1:
            raise InvalidClientOption(name, "must be an integer >= 1")
    return Options(
        api_url=None if url is None else api_url(url),
        token=token,
        environment=environment,
        updates=mode if url is not None else "off",
        poll_interval=float(poll_interval),
        flush_interval=float(flush_interval),
        batch_size=batch_size,
        max_queue=max_queue,
        timeout=float(timeout),
        send_events=send_events and url is not None,
        retry_base=float(retry_base),
        retry_max=float(retry_max),
        cache_path=None if cache_path is None else Path(cache_path),
    )


def api_url(url: str) -> str:
    """The API base for a server URL: `https://flags.example` and
    `https://flags.example/api/v1` both give `https://flags.example/api/v1`."""
    if not isinstance(url, str):
        raise InvalidClientOption("url", "must be a string such as https://host")
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise InvalidClientOption(
            "url", f"{url[:80]!r} is not an http(s) URL such as https://host"
        )
    if parts.query or parts.fragment:
        raise InvalidClientOption("url", "must have no query or fragment")
    path = parts.path.rstrip("/")
    if not path.endswith(API_PREFIX):
        path += API_PREFIX
    return f"{parts.scheme}://{parts.netloc}{path}"


def _mode(updates: str) -> Updates:
    for mode in UPDATE_MODES:
        if updates == mode:
            return mode
    raise InvalidClientOption(
        "updates", f"must be one of {', '.join(UPDATE_MODES)}, not {updates!r}"
    )


def _is_text(value: object) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _positive(name: str, value: object) -> None:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or value <= 0
    ):
        raise InvalidClientOption(name, "must be a positive number of seconds")
