"""Inbound alerts: a Datadog monitor or an Alertmanager alert, as one value.

The server parses the webhooks' payloads into `Alert`s; the engine matches them
against the alert rules of running plans (`core.plans.AlertRule`): by name,
exactly, or by one tag (`service:vaos` in Datadog, `team=vaos` as an
Alertmanager label).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from flagramp.core.plans.alerts import AlertRule


class AlertSource(StrEnum):
    """Where an alert came from."""

    DATADOG = "datadog"
    ALERTMANAGER = "alertmanager"


class AlertStatus(StrEnum):
    """What the alert says: firing (triggered, re-triggered, renotified), a
    warning, no data, or resolved (recovered)."""

    FIRING = "firing"
    WARNING = "warning"
    NO_DATA = "no_data"
    RESOLVED = "resolved"


@dataclass(frozen=True, slots=True)
class Alert:
    """One alert notification.

    `name` is the monitor's name (Datadog, without the `[Triggered on …]`
    prefix) or the `alertname` label (Alertmanager); `tags` are `key:value`
    (Datadog) or `key=value` (Alertmanager labels) strings; `at` is when the
    alert changed state; `key` identifies the alert across notifications (the
    monitor id and scope, the Alertmanager fingerprint).
    """

    source: AlertSource
    name: str
    tags: tuple[str, ...]
    status: AlertStatus
    at: dt.datetime
    key: str = ""
    link: str = ""


def rule_matches(rule: AlertRule, alert: Alert) -> bool:
    """Whether a plan's alert rule names this alert (same source, then its name
    exactly or one of its tags)."""
    if rule.source != alert.source.value:
        return False
    if rule.name is not None:
        return rule.name == alert.name
    return rule.tag in alert.tags
