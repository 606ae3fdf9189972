"""What a server is configured with: arguments, or `FLAGRAMP_*` variables."""

from __future__ import annotations

import datetime as dt
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from flagramp.core.errors import FlagrampError
from flagramp.engine.batch_key_retention import DEFAULT_RETENTION, retention_from_env

#: Largest request body on /api/v1 (after gzip is undone, for events too).
DEFAULT_MAX_BODY_BYTES = 16 * 1024 * 1024
#: Deepest nesting of a JSON body: far beyond any document flagramp reads, far
#: below what would exhaust the parser's stack.
DEFAULT_MAX_JSON_DEPTH = 32
#: How long one send to an SSE client may block before its stream is ended.
DEFAULT_STREAM_SEND_TIMEOUT = 30.0
#: The variable that sets it (seconds).
STREAM_SEND_TIMEOUT_ENV = "FLAGRAMP_STREAM_SEND_TIMEOUT"


@dataclass(frozen=True, slots=True)
class ServerSettings:
    """A server's settings.

    `cors_origins` empty means no CORS headers at all (browsers then refuse
    cross-origin calls). `stream_poll_seconds` is how often a replica looks at
    the store version when nothing notifies it (SQLite; a safety net on
    PostgreSQL, where LISTEN/NOTIFY wakes it at once). Failed authentications
    are limited per client address: `auth_failures` within `auth_window_seconds`,
    then 429 until the window has passed. `session_key` signs the dashboard's
    session cookies: every replica behind one address needs the same one (None:
    a random key per process, so sessions end when it restarts).
    `controller` runs the engine's controller in the process (`flagramp serve
    --controller`), ticking every `controller_interval` seconds while it holds
    the store's lease. `backup_dir` is where `/api/v1/backups` writes and
    finds backup files (None: `store.backup_directory` of the store, the same
    directory `flagramp backup` uses). `batch_key_retention` is how long the
    controller keeps event batch keys (`engine.batch_key_retention`; a batch
    retried after its key was deleted is counted again).
    `stream_send_timeout_seconds`: when sending one event (or keep-alive) to an
    SSE client (`/api/v1/stream`, the dashboard's guard streams) blocks longer,
    because the client stopped reading, the server ends that stream, freeing
    its place and buffers (`flagramp_stream_send_timeouts_total`).
    """

    database_url: str | None = None
    cors_origins: tuple[str, ...] = ()
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    max_json_depth: int = DEFAULT_MAX_JSON_DEPTH
    stream_poll_seconds: float = 0.2
    notified_poll_seconds: float = 5.0
    keepalive_seconds: float = 15.0
    stream_send_timeout_seconds: float = DEFAULT_STREAM_SEND_TIMEOUT
    auth_failures: int = 20
    auth_window_seconds: float = 60.0
    flipper_environments: tuple[str, ...] = field(default_factory=tuple)
    # Not in the repr: settings end up in tracebacks and debug output.
    session_key: str | None = field(default=None, repr=False)
    controller: bool = False
    controller_interval: float = 60.0
    backup_dir: Path | None = None
    batch_key_retention: dt.timedelta = DEFAULT_RETENTION

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ServerSettings:
        """Settings from `FLAGRAMP_DATABASE_URL`, `FLAGRAMP_CORS_ORIGINS`
        (comma-separated origins), `FLAGRAMP_SESSION_KEY`,
        `FLAGRAMP_BACKUP_DIR`, `FLAGRAMP_BATCH_KEY_RETENTION_DAYS` (raises
        EngineError if that is not a positive number) and
        `FLAGRAMP_STREAM_SEND_TIMEOUT` (seconds; FlagrampError if not a
        positive number)."""
        env = os.environ if environ is None else environ
        origins = tuple(
            o.strip()
            for o in env.get("FLAGRAMP_CORS_ORIGINS", "").split(",")
            if o.strip()
        )
        return cls(
            database_url=env.get("FLAGRAMP_DATABASE_URL") or None,
            cors_origins=origins,
            session_key=env.get("FLAGRAMP_SESSION_KEY") or None,
            backup_dir=_path(env.get("FLAGRAMP_BACKUP_DIR")),
            batch_key_retention=retention_from_env(env),
            stream_send_timeout_seconds=_send_timeout(env),
        )


def _send_timeout(env: Mapping[str, str]) -> float:
    text = env.get(STREAM_SEND_TIMEOUT_ENV, "").strip()
    if not text:
        return DEFAULT_STREAM_SEND_TIMEOUT
    try:
        seconds = float(text)
    except ValueError:
        seconds = math.nan
    if not math.isfinite(seconds) or seconds <= 0:
        raise FlagrampError(
            f"{STREAM_SEND_TIMEOUT_ENV} must be a positive number of seconds,"
            f" not {text!r}"
        )
    return seconds


def _path(value: str | None) -> Path | None:
    return Path(value).expanduser() if value else None
