"""Datadog and Alertmanager webhook payloads, read into `core.alerts.Alert`s.

**Datadog** sends the JSON its webhook's payload template makes. The default
template (`title`, `date`, `id`, `event_type`, `body`, …) is read, and so is
the one docs/server.md recommends, which adds `alert_title`,
`alert_transition`, `tags`, `alert_id`, `alert_scope` and `link` from
Datadog's variables (`$ALERT_TITLE`, `$ALERT_TRANSITION`, `$TAGS`…). The
monitor's name is the title without Datadog's leading `[Triggered on …]`,
`[P1]`… brackets; the transition comes from `alert_transition`, else from the
title's first bracket. `date` is epoch milliseconds (`$DATE`).

**Alertmanager** sends its webhook format version 4: a group of `alerts`, each
with `status` (firing, resolved), `labels` (`alertname` is the name; every
label is a `name=value` tag), `startsAt`/`endsAt`, `fingerprint`,
`generatorURL`.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any

from flagramp.core.alerts import Alert, AlertSource, AlertStatus
from flagramp.core.identifiers import check_entity_key
from flagramp.server.problems import INVALID_REQUEST, ProblemError

#: Most alerts one notification may carry.
MAX_ALERTS = 1_000
_PREFIX = re.compile(r"^\s*((\[[^\]]*\])\s*)+")
_TRANSITIONS = {
    "triggered": AlertStatus.FIRING,
    "re-triggered": AlertStatus.FIRING,
    "renotify": AlertStatus.FIRING,
    "warn": AlertStatus.WARNING,
    "re-warn": AlertStatus.WARNING,
    "no data": AlertStatus.NO_DATA,
    "re-no data": AlertStatus.NO_DATA,
    "recovered": AlertStatus.RESOLVED,
}


def _refuse(detail: str) -> ProblemError:
    return ProblemError(INVALID_REQUEST, detail)


def _text(value: object, field: str, *, limit: int = 2_000) -> str:
    if value is None:
        return ""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str):
        raise _refuse(f"`{field}` must be a string")
    return value.strip()[:limit]


def datadog_alerts(document: object, received_at: dt.datetime) -> list[Alert]:
    """The alert a Datadog webhook notification describes."""
    if not isinstance(document, Mapping):
        raise _refuse("a Datadog webhook payload is a JSON object")
    title = _text(
        document.get("alert_title")
        or document.get("title")
        or document.get("event_title"),
        "alert_title",
    )
    name = _PREFIX.sub("", title).strip()
    if not name:
        raise _refuse("the payload names no monitor (`alert_title` or `title`)")
    check_entity_key(name)
    transition = _text(document.get("alert_transition"), "alert_transition").lower()
    if not transition:
        first = re.match(r"^\s*\[([^\]]*)\]", title)
        transition = first.group(1).split(" on ")[0].strip().lower() if first else ""
    status = _TRANSITIONS.get(transition)
    if status is None:
        raise _refuse(
            f"unknown alert transition {transition[:40]!r} (Triggered, Recovered, "
            "Warn, No Data, Renotify and their Re- forms)"
        )
    tags = document.get("tags", "")
    if isinstance(tags, str):
        tag_list = [t.strip() for t in tags.split(",") if t.strip()]
    elif isinstance(tags, list) and all(isinstance(t, str) for t in tags):
        tag_list = [t.strip() for t in tags if t.strip()]
    else:
        raise _refuse("`tags` must be a comma-separated string or a list of strings")
    key = ":".join(
        part
        for part in (
            _text(document.get("alert_id") or document.get("id"), "alert_id"),
            _text(document.get("alert_scope"), "alert_scope"),
        )
        if part
    )
    return [
        Alert(
            source=AlertSource.DATADOG,
            name=name,
            tags=tuple(tag_list),
            status=status,
            at=_epoch_ms(document.get("date"), received_at),
            key=key,
            link=_text(document.get("link"), "link"),
        )
    ]


def _epoch_ms(value: object, default: dt.datetime) -> dt.datetime:
    if value is None or value == "":
        return default
    try:
        millis = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise _refuse("`date` must be epoch milliseconds (Datadog's $DATE)") from None
    try:
        return dt.datetime.fromtimestamp(millis / 1000, dt.UTC)
    except (OverflowError, ValueError, OSError):
        raise _refuse("`date` is out of range") from None


def alertmanager_alerts(document: object) -> list[Alert]:
    """The alerts of an Alertmanager webhook notification (format version 4)."""
    if not isinstance(document, Mapping):
        raise _refuse("an Alertmanager webhook payload is a JSON object")
    if str(document.get("version")) != "4":
        raise _refuse("only Alertmanager's webhook format version 4 is read")
    raw_alerts = document.get("alerts")
    if not isinstance(raw_alerts, list) or len(raw_alerts) > MAX_ALERTS:
        raise _refuse(f"`alerts` must be a list of at most {MAX_ALERTS} alerts")
    return [_alertmanager_alert(raw, i) for i, raw in enumerate(raw_alerts)]


def _alertmanager_alert(raw: object, index: int) -> Alert:
    where = f"alerts[{index}]"
    if not isinstance(raw, Mapping):
        raise _refuse(f"{where} must be an object")
    labels: Any = raw.get("labels")
    if not isinstance(labels, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in labels.items()
    ):
        raise _refuse(f"{where}.labels must be an object of strings")
    name = labels.get("alertname", "").strip()
    if not name:
        raise _refuse(f"{where} has no `alertname` label")
    check_entity_key(name)
    status_text = raw.get("status")
    if status_text not in ("firing", "resolved"):
        raise _refuse(f"{where}.status must be firing or resolved")
    status = AlertStatus.FIRING if status_text == "firing" else AlertStatus.RESOLVED
    stamp = raw.get("startsAt") if status is AlertStatus.FIRING else raw.get("endsAt")
    return Alert(
        source=AlertSource.ALERTMANAGER,
        name=name,
        tags=tuple(sorted(f"{k}={v}" for k, v in labels.items())),
        status=status,
        at=_rfc3339(stamp, f"{where}.startsAt/endsAt"),
        key=_text(raw.get("fingerprint"), f"{where}.fingerprint"),
        link=_text(raw.get("generatorURL"), f"{where}.generatorURL"),
    )


def _rfc3339(value: object, where: str) -> dt.datetime:
    if not isinstance(value, str):
        raise _refuse(f"{where} must be an RFC 3339 time")
    # Go writes nanoseconds; Python reads at most microseconds.
    text = re.sub(r"(\.\d{6})\d+", r"\1", value.strip()).replace("Z", "+00:00")
    try:
        parsed = dt.datetime.fromisoformat(text)
    except ValueError:
        raise _refuse(f"{where} {value[:40]!r} is not an RFC 3339 time") from None
    if parsed.tzinfo is None:
        raise _refuse(f"{where} has no time zone")
    return parsed.astimezone(dt.UTC)
