"""What one app holds (store, tokens, hub, sinks, metrics, runs), for routes to
reach."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import HTTPConnection

from flagramp.core.clock import Clock
from flagramp.engine.service import RunService
from flagramp.server.auth_failures import FailureLimiter
from flagramp.server.metrics import ServerMetrics
from flagramp.server.ports import AlertSink, BatchIntake
from flagramp.server.settings import ServerSettings
from flagramp.server.snapshots import SnapshotCache
from flagramp.server.streaming.hub import ChangeHub
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
    alerts: AlertSink
    hub: ChangeHub
    snapshots: SnapshotCache
    metrics: ServerMetrics
    auth_limiter: FailureLimiter
    runs: RunService


def server_state(connection: HTTPConnection) -> ServerState:
    """The state of the app answering `connection`."""
    state = connection.app.state.flagramp
    assert isinstance(state, ServerState)
    return state
