"""What one app holds (store, tokens, hub, sinks, metrics, runs), for routes to
reach."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from starlette.requests import HTTPConnection

from flagramp.core.clock import Clock, SystemClock
from flagramp.engine.service import RunService
from flagramp.server.auth_failures import FailureLimiter
from flagramp.server.event_intake import GroupedIntake
from flagramp.server.metrics import ServerMetrics
from flagramp.server.ports import AlertSink, BatchIntake
from flagramp.server.settings import ServerSettings
from flagramp.server.snapshots import SnapshotCache
from flagramp.server.streaming.hub import ChangeHub
from flagramp.server.token_cache import TokenCache
from flagramp.store import SqlFlagStore
from flagramp.store.event_batches import EventBatchKeys
from flagramp.store.tokens import TokenStore


@dataclass
class ServerState:
    """The parts of a running server."""

    settings: ServerSettings
    store: SqlFlagStore
    clock: Clock
    tokens: TokenStore
    batch_keys: EventBatchKeys
    events: BatchIntake
    #: What the events route hands its batches to: many requests a transaction.
    event_writer: GroupedIntake
    alerts: AlertSink
    hub: ChangeHub
    snapshots: SnapshotCache
    metrics: ServerMetrics
    auth_limiter: FailureLimiter
    runs: RunService
    #: Where the backups routes write and find backup files.
    backup_dir: Path
    #: Tokens the events route verified lately (its writer checks them again).
    token_cache: TokenCache = field(default_factory=TokenCache)
    session_clock: Clock = field(default_factory=SystemClock)
    """What dashboard sessions age by: `clock` unless told else (the demo's
    virtual clock runs weeks ahead, its viewers' sessions must not)."""


def server_state(connection: HTTPConnection) -> ServerState:
    """The state of the app answering `connection`."""
    state = connection.app.state.flagramp
    assert isinstance(state, ServerState)
    return state
