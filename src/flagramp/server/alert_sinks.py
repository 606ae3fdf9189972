"""An `AlertSink` that records every alert in the audit log, until the engine's.

Each alert is one audit row (kind `alert`, keyed by its source and name) in the
alert's environment, so it shows in `audit log` and in the change feed that a
controller reads; the engine's sink replaces this one and also matches the
alerts against running plans.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from flagramp.core.alerts import Alert
from flagramp.core.identifiers import ENTITY_KEY_MAX
from flagramp.server.ports import HandledAlerts
from flagramp.store import Author, FlagStore


class AuditAlertSink:
    """Records alerts in the audit log; concerns no run."""

    def __init__(self, store: FlagStore) -> None:
        self.store = store

    def raise_alerts(
        self,
        environment: str,
        alerts: Sequence[Alert],
        *,
        received_at: dt.datetime,
        author: Author,
    ) -> HandledAlerts:
        if not alerts:
            return HandledAlerts()
        with self.store.unit_of_work(author) as unit:
            for alert in alerts:
                key = f"{alert.source.value}:{alert.name}"[:ENTITY_KEY_MAX]
                unit.record(
                    environment,
                    "alert",
                    key,
                    alert.status.value,
                    None,
                    {
                        "source": alert.source.value,
                        "name": alert.name,
                        "tags": list(alert.tags),
                        "status": alert.status.value,
                        "at": alert.at.isoformat(),
                        "key": alert.key,
                        "link": alert.link,
                        "received_at": received_at.isoformat(),
                    },
                )
        return HandledAlerts()
