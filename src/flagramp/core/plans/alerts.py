"""Inbound alerts and outbound notifications.

Seed 003 relies on "existing Datadog alerts continue to fire". A plan maps such
alerts, by name or by tag, to a severity and a mode: while the run is in a
rollout phase the alert names, it acts as a criterion of that severity and mode
would (rollback applies the severity's action to the current phase's flags).

Seed 004 sends status e-mails to everyone involved: `notifications` name the
roles that get an e-mail and what about.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal

from pydantic import Field, model_validator

from flagramp.core.plans.base import Name, PlanModel, Text
from flagramp.core.plans.criteria import Mode
from flagramp.core.severity import Severity


class AlertRule(PlanModel):
    """An inbound alert (Datadog monitor, Alertmanager alert) and what it means."""

    source: Literal["datadog", "alertmanager"]
    name: Text | None = None
    """The monitor's or alert's name, matched exactly."""
    tag: Text | None = None
    """A tag (`service:vaos`) or label (`team=vaos`) the alert carries."""
    severity: Severity
    mode: Mode = Mode.PAUSE
    phases: tuple[Text, ...] = ()
    """Rollout phases it applies to, by name; default every one."""
    description: Text | None = None

    @model_validator(mode="after")
    def _one_match(self) -> AlertRule:
        if (self.name is None) == (self.tag is None):
            raise ValueError("match an alert by exactly one of `name` or `tag`")
        return self


class Topic(StrEnum):
    """What a notification is about."""

    DECISION_NEEDED = "decision_needed"
    """A go/no-go, sign-off, question or approval waits for someone."""
    PAUSE = "pause"
    ROLLBACK = "rollback"
    """A rollback, a kill or an incident."""
    STAGE = "stage"
    """A stage or phase started or completed."""
    PROMOTION = "promotion"
    CHECKPOINT = "checkpoint"
    MILESTONE = "milestone"


class Notification(PlanModel):
    """E-mail to the people of some roles, about some topics."""

    email: Annotated[tuple[Name, ...], Field(min_length=1)]
    """Roles whose people get the e-mail."""
    about: tuple[Topic, ...] = ()
    """Topics; default: every topic (seed 004's status e-mails)."""
