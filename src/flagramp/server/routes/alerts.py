"""Inbound alerts: Datadog monitor and Alertmanager webhooks, as incident
triggers for running plans (the plans' `alerts` mappings decide the severity)."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from typing import Annotated, Any

import anyio.to_thread
from fastapi import Query, Request
from pydantic import BaseModel

from flagramp.core.alerts import Alert, AlertSource, AlertStatus
from flagramp.server.alert_payloads import alertmanager_alerts, datadog_alerts
from flagramp.server.identity import EnvironmentIn, Identity, allow
from flagramp.server.problems import responses
from flagramp.server.routes.common import AUTH_PROBLEMS, State, api_router
from flagramp.store.tokens import Permission

router = api_router("alerts")

OPERATOR = allow(Permission.OPERATOR, environment=EnvironmentIn.QUERY)
Environment = Annotated[
    str | None, Query(max_length=64, description="Default: production")
]


class AlertView(BaseModel):
    source: AlertSource
    name: str
    tags: list[str]
    status: AlertStatus
    at: dt.datetime
    key: str
    link: str


class AlertsTaken(BaseModel):
    """The alerts read from the notification, and how many runs they concern."""

    alerts: list[AlertView]
    runs: int


async def _take(
    request: Request,
    state: State,
    who: Identity,
    environment: str | None,
    parse: Callable[[Any], list[Alert]],
) -> AlertsTaken:
    env = who.environment(environment)
    alerts = parse(await request.json())
    handled = await anyio.to_thread.run_sync(
        functools.partial(
            state.alerts.raise_alerts,
            env,
            alerts,
            received_at=state.clock.now(),
            author=who.author("inbound alert"),
        )
    )
    for alert in alerts:
        state.metrics.alerts.labels(alert.source.value, alert.status.value).inc()
    return AlertsTaken(
        alerts=[
            AlertView(
                source=a.source,
                name=a.name,
                tags=list(a.tags),
                status=a.status,
                at=a.at,
                key=a.key,
                link=a.link,
            )
            for a in alerts
        ],
        runs=handled.runs,
    )


@router.post(
    "/alerts/datadog",
    response_model=AlertsTaken,
    responses=responses(*AUTH_PROBLEMS, 422),
    summary="A Datadog monitor notification (webhook)",
)
async def datadog(
    request: Request,
    state: State,
    who: Annotated[Identity, OPERATOR],
    environment: Environment = None,
) -> AlertsTaken:
    now = state.clock.now()
    return await _take(
        request, state, who, environment, lambda doc: datadog_alerts(doc, now)
    )


@router.post(
    "/alerts/alertmanager",
    response_model=AlertsTaken,
    responses=responses(*AUTH_PROBLEMS, 422),
    summary="A Prometheus Alertmanager notification (webhook, version 4)",
)
async def alertmanager(
    request: Request,
    state: State,
    who: Annotated[Identity, OPERATOR],
    environment: Environment = None,
) -> AlertsTaken:
    return await _take(request, state, who, environment, alertmanager_alerts)
