"""The server: `/api/v1`, `/flipper/api`, `/dashboard`, `/metrics`, health: one app.

`create_app(settings)` opens the store (migrating it on first use) unless one
is given, and wires the parts: tokens, the change hub (with LISTEN/NOTIFY on
PostgreSQL), the engine's `RunService` (the runs routes and the dashboard's
run pages), the event sink routing to the runs' scopes, the alert sink,
metrics (run states among them), the controller loop when
`settings.controller` says so, and middleware. Middleware,
outermost first: request metrics, security headers, CORS (only when origins
are configured), body limits for `/api/v1`.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections.abc import AsyncIterator, Callable, Mapping
from importlib import metadata
from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from starlette.middleware import Middleware
from starlette.routing import Mount
from starlette.types import ASGIApp, Receive, Scope, Send

from flagramp.core.clock import Clock, SystemClock
from flagramp.core.errors import InvalidIdentifier
from flagramp.core.identifiers import check_environment
from flagramp.engine.controller import Controller
from flagramp.engine.lease import Lease
from flagramp.engine.service import RunService
from flagramp.engine.source_health import SourceHealth
from flagramp.server import openapi, problems
from flagramp.server.alert_sinks import AuditAlertSink
from flagramp.server.auth_failures import FailureLimiter
from flagramp.server.controller_loop import ControllerLoop
from flagramp.server.dashboard import RunsPort
from flagramp.server.dashboard import install as install_dashboard
from flagramp.server.event_intake import GroupedIntake
from flagramp.server.event_sinks import KeyedSink, ScopeSink, VersionedRoutes
from flagramp.server.flipper_api import Caller, flipper_api, token_from_headers
from flagramp.server.flipper_failures import FlipperFailureLimit
from flagramp.server.group_version import GroupVersion
from flagramp.server.identity import Identity
from flagramp.server.metrics import ServerMetrics
from flagramp.server.middleware.body_limit import BodyLimit
from flagramp.server.middleware.request_metrics import RequestMetrics
from flagramp.server.middleware.security_headers import SecurityHeaders
from flagramp.server.ports import AlertSink, BatchIntake, EventSink
from flagramp.server.routes import (
    alerts,
    audit,
    backups,
    environments,
    events,
    flags,
    health,
    metrics,
    plans,
    run_commands,
    segments,
    stream,
    tokens,
)
from flagramp.server.routes import runs as run_routes
from flagramp.server.run_metrics import ControllerMetrics, RunTotalsCollector
from flagramp.server.settings import ServerSettings
from flagramp.server.snapshots import SnapshotCache
from flagramp.server.state import ServerState
from flagramp.server.streaming.hub import ChangeHub
from flagramp.server.streaming.pg_listener import listen
from flagramp.server.token_cache import UsableSenders
from flagramp.store import DEFAULT_ENVIRONMENT, SqlFlagStore, backup_directory
from flagramp.store.event_batches import EventBatchKeys
from flagramp.store.tokens import Permission, TokenStore
from flagramp.store.windows import WindowStore

API_PREFIX = "/api/v1"
#: The routers of /api/v1, in the order they match.
API_ROUTERS = (
    # Routes are matched in this order; the events route takes most requests
    # (every SDK sends batches), so it is tried first.
    events.router,
    flags.router,
    segments.router,
    environments.router,
    plans.router,
    run_routes.router,
    run_commands.router,
    stream.router,
    audit.router,
    alerts.router,
    tokens.router,
    backups.router,
)
#: Every router of the app with its prefix: the route table.
ROUTE_TABLE: tuple[tuple[str, APIRouter], ...] = (
    ("", health.router),
    ("", metrics.router),
    *((API_PREFIX, router) for router in API_ROUTERS),
)


def create_app(
    settings: ServerSettings | None = None,
    *,
    store: SqlFlagStore | None = None,
    clock: Clock | None = None,
    events_sink: EventSink | None = None,
    alerts_sink: AlertSink | None = None,
    auth_clock: Callable[[], float] | None = None,
    runs: RunsPort | None = None,
    session_clock: Clock | None = None,
) -> FastAPI:
    """The flagramp server as a FastAPI app. The dashboard's run pages read the
    engine's `RunService` on the store, unless `runs` gives another one.
    Dashboard sessions age by `session_clock` (default: `clock`)."""
    settings = settings or ServerSettings.from_env()
    store = store or SqlFlagStore.open(settings.database_url)
    clock = clock or SystemClock()
    metrics = ServerMetrics()
    hub = ChangeHub(store, poll_seconds=_poll_seconds(store, settings))
    windows = WindowStore(store.engine)
    service = RunService(store, windows, clock)
    metrics.registry.register(RunTotalsCollector(store.engine))
    controller_metrics = ControllerMetrics(metrics.registry)
    backup_dir = settings.backup_dir or _backup_dir(store)
    loop = None
    if settings.controller:
        # Prometheus and Datadog: from FLAGRAMP_PROMETHEUS_URL, DD_* (never a plan).
        sources = SourceHealth.from_env()
        loop = ControllerLoop(
            lambda sleep: Controller(
                store,
                windows,
                clock,
                sleep=sleep,
                backup_dir=backup_dir,
                sources=sources,
                batch_key_retention=settings.batch_key_retention,
            ),
            Lease(store.engine),
            controller_metrics,
            interval=settings.controller_interval,
        )
    tokens = TokenStore(store)
    version = GroupVersion(store.version)
    intake = _intake(version, windows, service, events_sink, store)
    state = ServerState(
        settings=settings,
        store=store,
        clock=clock,
        tokens=tokens,
        batch_keys=EventBatchKeys(store.engine),
        events=intake,
        event_writer=GroupedIntake(
            intake, UsableSenders(tokens, version), per_group=version.held
        ),
        alerts=alerts_sink or AuditAlertSink(store),
        hub=hub,
        snapshots=SnapshotCache(store),
        metrics=metrics,
        auth_limiter=FailureLimiter(
            settings.auth_failures,
            settings.auth_window_seconds,
            clock=auth_clock or time.monotonic,
        ),
        runs=service,
        backup_dir=backup_dir,
        session_clock=session_clock or clock,
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await hub.read()
        tasks = [asyncio.create_task(hub.run(), name="flagramp change hub")]
        if store.engine.dialect.name == "postgresql":
            url = store.engine.url.render_as_string(hide_password=False)
            tasks.append(asyncio.create_task(listen(url, hub.wake), name="LISTEN"))
        if loop is not None:
            loop.start()
        try:
            yield
        finally:
            if loop is not None:
                await asyncio.to_thread(loop.stop)
            await asyncio.to_thread(state.event_writer.close)
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    app = FastAPI(
        title="flagramp",
        version=metadata.version("flagramp"),
        description="Staged feature-flag rollouts from written release plans.",
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
        middleware=_middleware(settings, metrics),
        # flagramp's own metrics are Prometheus (`/metrics`); FastAPI's
        # OpenTelemetry hooks only asked, on every request, whether a provider
        # was configured.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.flagramp = state
    problems.install(app)
    openapi.install(app)
    for prefix, router in ROUTE_TABLE:
        app.include_router(router, prefix=prefix)
    # The busiest route, first and matched by its own pattern (see EventsRoute).
    app.router.routes.insert(0, events.direct_route(API_PREFIX))
    _mount_flipper(app, state)
    app.state.controller = loop
    install_dashboard(app, settings, runs if runs is not None else service)
    return app


def _backup_dir(store: SqlFlagStore) -> Path:
    # The directory `flagramp backup` uses for the same store, so that the CLI
    # and the server list and restore the same files.
    return backup_directory(store.engine.url.render_as_string(hide_password=False))


def _intake(
    version: GroupVersion,
    windows: WindowStore,
    service: RunService,
    sink: EventSink | None,
    store: SqlFlagStore,
) -> BatchIntake:
    """The events route's intake: the runs' scopes (one transaction with the
    batch key), or a given sink behind the batch keys."""
    if sink is None:
        routes = VersionedRoutes(version, service.event_routes)
        return ScopeSink(windows, routes=routes)
    if isinstance(sink, ScopeSink):
        return sink
    return KeyedSink(store, sink)


def _poll_seconds(store: SqlFlagStore, settings: ServerSettings) -> float:
    if store.engine.dialect.name == "postgresql":
        return settings.notified_poll_seconds
    return settings.stream_poll_seconds


def _middleware(settings: ServerSettings, metrics: ServerMetrics) -> list[Middleware]:
    stack = [Middleware(RequestMetrics, metrics=metrics), Middleware(SecurityHeaders)]
    if settings.cors_origins:
        stack.append(
            Middleware(
                CORSMiddleware,
                allow_origins=list(settings.cors_origins),
                allow_methods=["GET", "POST", "PUT", "DELETE"],
                allow_headers=["authorization", "content-type", "last-event-id"],
                expose_headers=["etag"],
            )
        )
    stack.append(
        Middleware(
            BodyLimit,
            prefix=API_PREFIX,
            max_body_bytes=settings.max_body_bytes,
            max_json_depth=settings.max_json_depth,
        )
    )
    return stack


def flipper_authorize(
    state: ServerState, environment: str
) -> Callable[[Mapping[str, str]], Caller | None]:
    """Flagramp's tokens for the Flipper API of one environment: engineers and
    above write, viewers and this environment's SDK tokens read."""

    def authorize(headers: Mapping[str, str]) -> Caller | None:
        token = token_from_headers(headers)
        record = None if token is None else state.tokens.authenticate(token)
        if record is None:
            return None
        if record.permission is Permission.SDK and record.environment != environment:
            return None
        identity = Identity(record)
        may_write = record.permission.includes(Permission.ENGINEER)
        return Caller(identity.author(), may_write=may_write)

    return authorize


class FlipperByEnvironment:
    """`/flipper/{env}/api`: one Flipper API per environment, made on first use."""

    def __init__(self, state: ServerState) -> None:
        self.state = state
        self._apps: dict[str, ASGIApp] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        environment = str(scope.get("path_params", {}).get("env", ""))
        try:
            check_environment(environment)
        except InvalidIdentifier:
            response = problems.problem_response(
                problems.NOT_FOUND, f"no environment {environment[:64]!r}"
            )
            await response(scope, receive, send)
            return
        app = self._apps.get(environment)
        if app is None:
            app = _flipper_app(self.state, environment)
            self._apps[environment] = app
        await app(scope, receive, send)


def _flipper_app(state: ServerState, environment: str) -> ASGIApp:
    api = flipper_api(
        state.store,
        authorize=flipper_authorize(state, environment),
        clock=state.clock,
        environment=environment,
    )
    return FlipperFailureLimit(api, state)


class FlipperMount(Mount):
    """A mount whose rest of the path may hold any character.

    Starlette's pattern ends in `.*`, which stops at a newline: a feature name
    with `%0A` in it would miss the mount and get the server's 404 problem
    instead of Flipper's answer. Flipper's own routes match with `.*` on the
    still-escaped path, so anything below the mount is theirs.
    """

    def __init__(self, path: str, app: ASGIApp) -> None:
        super().__init__(path, app=app)
        self.path_regex = re.compile(self.path_regex.pattern, re.DOTALL)


def _mount_flipper(app: FastAPI, state: ServerState) -> None:
    app.router.routes.append(
        FlipperMount("/flipper/api", _flipper_app(state, DEFAULT_ENVIRONMENT))
    )
    app.router.routes.append(
        FlipperMount("/flipper/{env}/api", FlipperByEnvironment(state))
    )
