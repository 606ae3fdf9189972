"""What `Client` and `AsyncClient` share: evaluation, recording, applying updates.

Everything here is free of I/O except the cache file; the two clients add the
network (threads or asyncio tasks). An evaluation reads one dict and one compiled
check, records an exposure when the actor's variant of the flag is new this
minute (one dict lookup when it is not), and notes the flag on the current
request if a middleware started one. It never touches the network, a lock or a
store.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import json
import logging
import os
import random as _random
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TypedDict

from flagramp.core.errors import InvalidSnapshot
from flagramp.core.flags import Actor
from flagramp.core.flags.model import EMPTY_PROPERTIES
from flagramp.core.types import Json, Properties
from flagramp.sdk._attribution import RequestRecord, business_event, request_event
from flagramp.sdk._cache import load_cache, save_cache
from flagramp.sdk._documents import Snapshot, parse_change_set, parse_snapshot
from flagramp.sdk._events import Outbox
from flagramp.sdk._models import FlagDetails, FlagsChanged
from flagramp.sdk._options import make_options
from flagramp.sdk._table import (
    BOTH,
    Compiler,
    Entry,
    FlagTable,
    Update,
    empty_table,
    from_snapshot,
    with_changes,
)

logger = logging.getLogger("flagramp.sdk")

#: How many distinct problems are logged once each before logging stops.
MAX_LOGGED = 1000


class ClientOptions(TypedDict, total=False):
    """The keyword options `Client` and `AsyncClient` share with `BaseClient`
    (whose signature has the defaults)."""

    cache_path: str | os.PathLike[str] | None
    bootstrap: str | os.PathLike[str] | Mapping[str, Json] | None
    updates: str
    poll_interval: float
    flush_interval: float
    batch_size: int
    max_queue: int
    timeout: float
    send_events: bool
    retry_base: float
    retry_max: float
    clock: Callable[[], float]
    random: Callable[[], float]


class BaseClient:
    """The shared half of the two clients; not for use on its own."""

    def __init__(
        self,
        url: str | None,
        token: str | None,
        environment: str,
        *,
        cache_path: str | os.PathLike[str] | None = None,
        bootstrap: str | os.PathLike[str] | Mapping[str, Json] | None = None,
        updates: str = "stream",
        poll_interval: float = 30.0,
        flush_interval: float = 5.0,
        batch_size: int = 500,
        max_queue: int = 100_000,
        timeout: float = 10.0,
        send_events: bool = True,
        retry_base: float = 0.5,
        retry_max: float = 30.0,
        clock: Callable[[], float] = time.time,
        random: Callable[[], float] = _random.random,
    ) -> None:
        """The options both clients take (the defaults are here, the checks in
        `make_options`); raises InvalidClientOption naming the first bad one."""
        options = make_options(
            url,
            token,
            environment,
            updates=updates,
            poll_interval=poll_interval,
            flush_interval=flush_interval,
            batch_size=batch_size,
            max_queue=max_queue,
            timeout=timeout,
            send_events=send_events,
            retry_base=retry_base,
            retry_max=retry_max,
            cache_path=cache_path,
        )
        self._options = options
        self._clock = clock
        self._random = random
        self._compiler = Compiler(
            now=lambda: dt.datetime.fromtimestamp(clock(), dt.UTC), random=random
        )
        self._lock = threading.Lock()  # table swaps and the minute's turn
        self._table: FlagTable = empty_table(options.environment, self._compiler)
        # The server's name for where the table is (the SSE id, the ETag's
        # value): sent back as is, since after a restore it carries the store's
        # epoch and the version alone would not resume (server/positions.py).
        self._position: str | None = None
        self._entries: Mapping[str, Entry] = self._table.entries
        self._minute_end = 0.0
        self._outbox = Outbox(
            options.environment, options.batch_size, options.max_queue, clock
        )
        self._queue = self._outbox.queue
        self._max_queue = options.max_queue
        self._batch_size = options.batch_size
        self._recording = options.send_events
        self._request_var: contextvars.ContextVar[RequestRecord | None] = (
            contextvars.ContextVar(f"flagramp_request_{id(self):x}", default=None)
        )
        self._current_request = self._request_var.get
        self._attributing = False  # a middleware turns it on
        self._listeners: list[Callable[[FlagsChanged], None]] = []
        self._logged: set[str] = set()
        self._from_server = threading.Event()
        self._closed = False
        self._load_initial(bootstrap)

    # --- evaluation -------------------------------------------------------------

    def is_enabled(
        self,
        key: str,
        actor: str | None = None,
        properties: Properties | None = None,
        default: bool = False,
    ) -> bool:
        """Whether flag `key` is on for `actor` (a flipper id such as `User;42`)
        with these properties. Never raises: an unknown flag, a client without
        flags yet, or bad arguments give `default` (and one log line)."""
        try:
            entry = self._entries.get(key)
            if entry is None:
                self._unknown(key)
                return default
            enabled = entry.check(
                actor, EMPTY_PROPERTIES if properties is None else properties
            )
        except Exception as exc:
            self._failed(key, exc, default)
            return default
        try:
            if actor is not None and self._recording:
                now = self._clock()
                if now >= self._minute_end:
                    self._turn_minute(now)
                if entry.seen.get(actor) is not enabled:
                    self._expose(now, actor, entry, enabled)
            if self._attributing:
                request = self._current_request()
                if request is not None:
                    request.flags[key] = enabled
                    if request.actor is None:
                        request.actor = actor
        except Exception as exc:
            # Recording failed (an actor that is no string): the answer stands.
            self._failed(key, exc, enabled)
        return enabled

    def _failed(self, key: object, exc: Exception, answer: bool) -> None:
        with contextlib.suppress(Exception):  # a key whose repr raises
            self._log_once(
                f"error:{key!r}:{type(exc).__name__}",
                "flagramp: evaluating %r failed (%s: %s); answering %r",
                key,
                type(exc).__name__,
                exc,
                answer,
            )

    def evaluate(
        self,
        key: str,
        actor: str | None = None,
        properties: Properties | None = None,
        default: bool = False,
    ) -> FlagDetails:
        """`is_enabled` with the deciding gate and the reason, for people and
        OpenFeature (slower: it walks the gates). Records the exposure the same
        way. Never raises."""
        table = self._table
        try:
            entry = table.entries.get(key)
            if entry is None:
                return _missing(key, table, default)
            actors = [] if actor is None else [Actor(actor, properties or {})]
            explained = table.evaluator.explain(entry.flag, actors)
            self._note(key, actor, entry, explained.enabled)
        except Exception as exc:
            self._failed(key, exc, default)
            reason = f"{type(exc).__name__}: {exc}"
            return FlagDetails(
                str(key), default, "none", reason, table.version, "evaluation_error"
            )
        return FlagDetails(
            key, explained.enabled, explained.gate, explained.reason, table.version
        )

    # --- what the client records -------------------------------------------------

    def track(
        self,
        name: str,
        actor: str,
        *,
        value: float | None = None,
        attributes: Mapping[str, Json] | None = None,
    ) -> None:
        """Record a business event (`message_sent`, `csat` with value 4...) for
        `actor`; sent with the next batch. Never raises."""
        if not self._recording or not _is_actor(actor):
            return
        try:
            event = business_event(
                at=self._clock(),
                actor=actor,
                name=name,
                value=value,
                attributes=dict(attributes) if attributes else None,
            )
            self._put(event)
        except Exception as exc:  # pragma: no cover - a dict built from plain values
            self._log_once("track", "flagramp: track(%r) failed: %s", name, exc)

    def _record_request(
        self,
        record: RequestRecord,
        *,
        actor: str | None,
        route: str,
        status: int,
        latency_ms: float,
        error: str | None,
        name: str,
    ) -> None:
        """Queue a request's outcome (for the middleware); needs an actor."""
        who = actor if actor is not None else record.actor
        if not self._recording or who is None or not _is_actor(who):
            return
        self._put(
            request_event(
                at=self._clock(),
                actor=who,
                route=route,
                status=status,
                latency_ms=latency_ms,
                error=error,
                name=name,
                flags=record.flags,
            )
        )

    def current_variants(self) -> dict[str, str]:
        """`{"flag": "on" | "off"}` for the flags evaluated so far in the current
        request (one a middleware opened), to label metrics with; {} outside."""
        record = self._request_var.get()
        if record is None:
            return {}
        return {key: "on" if on else "off" for key, on in record.flags.items()}

    def on_change(self, listener: Callable[[FlagsChanged], None]) -> Callable[[], None]:
        """Call `listener` after every update that changed flags (on the client's
        own thread or task); returns a function that removes it."""
        self._listeners.append(listener)

        def remove() -> None:
            if listener in self._listeners:
                self._listeners.remove(listener)

        return remove

    # --- state -------------------------------------------------------------------

    @property
    def environment(self) -> str:
        """The environment whose flags this client serves."""
        return self._options.environment

    @property
    def version(self) -> int | None:
        """The store version of the flags served; None before any arrived."""
        version = self._table.version
        return None if version < 0 else version

    @property
    def source(self) -> str:
        """Where the flags served came from: `none`, `bootstrap`, `cache`, `server`."""
        return self._table.source

    @property
    def flag_keys(self) -> tuple[str, ...]:
        """The keys of the flags served."""
        return tuple(self._table.entries)

    @property
    def pending_events(self) -> int:
        """Events recorded and not yet delivered."""
        return self._outbox.pending

    # --- applying updates ----------------------------------------------------------

    def _apply_snapshot(self, snapshot: Snapshot, source: str) -> FlagsChanged | None:
        if snapshot.environment and snapshot.environment != self.environment:
            raise InvalidSnapshot(
                source,
                f"it is for environment {snapshot.environment!r}, "
                f"not {self.environment!r}",
            )
        return self._install(
            from_snapshot(snapshot, self._table, self._compiler, source)
        )

    def _handle_stream_event(self, event: str, data: str, event_id: str = "") -> bool:
        """Apply one SSE event; True if it was a snapshot or change. Raises
        InvalidSnapshot for data that cannot be read (the caller reconnects).

        A snapshot replaces every flag and segment (and the cache file): the
        server sends one first, and again to every client after a restore."""
        if event not in ("snapshot", "change"):
            return False
        try:
            document = json.loads(data)
        except ValueError:
            raise InvalidSnapshot(f"stream {event} event", "data is not JSON") from None
        if event == "snapshot":
            self._apply_snapshot(parse_snapshot(document, "stream snapshot"), "server")
        else:
            changes = parse_change_set(document, "stream change event")
            if changes.version > self._table.version or self._table.source != "server":
                self._install(with_changes(self._table, changes, self._compiler))
        self._position = event_id or None
        return True

    def _install(self, update: Update) -> FlagsChanged | None:
        table = update.table
        for problem in update.problems:
            self._log_once(
                f"problem:{problem}", "flagramp: ignoring a document: %s", problem
            )
        with self._lock:
            # Under the lock that turns the minute: a rebuilt flag takes over the
            # exposures its predecessor saw this minute, never a past minute's.
            current = self._entries
            for key, entry in table.entries.items():
                old = current.get(key)
                if old is not None and old is not entry:
                    entry.seen = old.seen
            self._table = table
            self._entries = table.entries
        if table.source == "server":
            path = self._options.cache_path
            if path is not None:
                failure = save_cache(path, table.to_snapshot_document())
                if failure is not None:
                    self._log_once(
                        "cache", "flagramp: cannot write the flag cache: %s", failure
                    )
            self._from_server.set()
            self._served_from_server()
        if not update.changed:
            return None
        changed = FlagsChanged(table.version, update.changed, table.source)
        for listener in list(self._listeners):
            try:
                listener(changed)
            except Exception as exc:
                logger.warning("flagramp: a change listener failed: %r", exc)
        return changed

    def _load_initial(
        self, bootstrap: str | os.PathLike[str] | Mapping[str, Json] | None
    ) -> None:
        chosen: tuple[Snapshot, str] | None = None
        if bootstrap is not None:
            chosen = (_read_bootstrap(bootstrap), "bootstrap")
        path = self._options.cache_path
        cached = None if path is None else load_cache(path, self.environment)
        if cached is not None and (
            chosen is None or cached.version >= chosen[0].version
        ):
            chosen = (cached, "cache")
        if chosen is not None:
            self._apply_snapshot(*chosen)

    # --- the hot path's helpers ------------------------------------------------------

    def _turn_minute(self, now: float) -> None:
        with self._lock:
            if now < self._minute_end:
                return
            self._minute_end = _minute_end_of(now)
            for entry in self._entries.values():
                entry.seen = {}

    def _check_clock(self) -> None:
        """A clock set back by more than a minute turns the minute too (called by
        the sender): otherwise exposures would stay deduplicated until it caught up."""
        if self._clock() < self._minute_end - 120.0:
            with self._lock:
                self._minute_end = 0.0

    def _note(self, key: str, actor: str | None, entry: Entry, enabled: bool) -> None:
        """What the hot path does after a check, for `evaluate`."""
        if actor is not None and self._recording:
            now = self._clock()
            if now >= self._minute_end:
                self._turn_minute(now)
            if entry.seen.get(actor) is not enabled:
                self._expose(now, actor, entry, enabled)
        request = self._current_request()
        if request is not None:
            request.flags[key] = enabled
            if request.actor is None:
                request.actor = actor

    def _expose(self, now: float, actor: str, entry: Entry, enabled: bool) -> None:
        # One frame, no helpers: this runs for every actor's first check of a
        # flag in each minute, which on a busy app is most actors every minute.
        #
        # Rationale: an actor whose variant changes back (on, off, on within a
        # minute: a rollback undone) is exposed again, because the server counts
        # their outcomes under their latest exposure. Only a flag that draws
        # per check stops after both variants, or it would send half its checks.
        seen = entry.seen
        last = seen.get(actor)
        if last is BOTH:
            return
        seen[actor] = BOTH if entry.draws and last is not None else enabled
        if type(actor) is not str or not actor.strip():
            return  # the server needs a non-empty actor id to count anything
        queue = self._queue
        if len(queue) >= self._max_queue:
            self._outbox.counts.dropped += 1
            return
        queue.append(
            (now, actor, entry.flag.key, enabled, enabled and actor in entry.allowed)
        )
        if len(queue) == self._batch_size:
            self._wake_sender()

    def _put(self, item: tuple[float, str, str, bool, bool] | dict[str, Json]) -> None:
        self._outbox.put(item)
        if len(self._queue) == self._batch_size:
            self._wake_sender()

    def _wake_sender(self) -> None:
        """Overridden by the clients: a full batch is waiting."""

    def _served_from_server(self) -> None:
        """Overridden by the clients: flags from the server are installed."""

    def _unknown(self, key: str) -> None:
        if self._table.version >= 0:
            self._log_once(
                f"unknown:{key!r}",
                "flagramp: no flag %r in environment %r; answering the default",
                key,
                self.environment,
            )

    def _log_once(self, what: str, message: str, *args: object) -> None:
        if what in self._logged or len(self._logged) >= MAX_LOGGED:
            return
        self._logged.add(what)
        logger.warning(message, *args)


def _missing(key: str, table: FlagTable, default: bool) -> FlagDetails:
    if table.version < 0:
        return FlagDetails(
            key, default, "none", "the client has no flags yet", None, "not_ready"
        )
    reason = f"no flag {key!r} in environment {table.environment!r}"
    return FlagDetails(key, default, "none", reason, table.version, "flag_not_found")


def _is_actor(value: object) -> bool:
    return type(value) is str and bool(value.strip())


def _minute_end_of(now: float) -> float:
    return now - now % 60.0 + 60.0


def _read_bootstrap(
    bootstrap: str | os.PathLike[str] | Mapping[str, Json],
) -> Snapshot:
    if isinstance(bootstrap, Mapping):
        return parse_snapshot(dict(bootstrap), "bootstrap")
    path = Path(bootstrap)
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InvalidSnapshot(str(path), f"cannot be read ({exc.strerror})") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidSnapshot(str(path), f"is not JSON ({exc})") from None
    return parse_snapshot(document, str(path))
