"""What a report is made from, as plain JSON values: the run, its log, its incidents.

`RunRecord` is the reports' own input shape, so that reports depend on no engine
type: whatever stores runs (`store.runs`) hands over its rows as these values.
`from_json` reads the document `to_json` writes (`flagramp report show` takes
one too).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field

from flagramp.core.errors import ReportError
from flagramp.core.types import Json


@dataclass(frozen=True, slots=True)
class RunEvent:
    """One entry of a run's append-only log."""

    seq: int
    at: dt.datetime
    kind: str
    actor: str | None
    """The person who acted; None for the controller."""
    data: Mapping[str, Json] = field(default_factory=dict)

    def to_json(self) -> dict[str, Json]:
        """The event as JSON."""
        return {
            "seq": self.seq,
            "at": self.at.isoformat(),
            "kind": self.kind,
            "actor": self.actor,
            "data": dict(self.data),
        }


@dataclass(frozen=True, slots=True)
class RunRecord:
    """A run as the store holds it: plan text, state, log and incidents."""

    run: str
    plan_text: str
    environment: str
    status: str
    created_at: dt.datetime
    events: tuple[RunEvent, ...] = ()
    incidents: Mapping[str, Mapping[str, Json]] = field(default_factory=dict)
    """Incident id → the incident's whole record (`engine.steps.IncidentDraft`)."""
    state: Mapping[str, Json] = field(default_factory=dict)
    """The run's state JSON (read for nothing the log does not also say)."""
    plan_file: str = "plan.yaml"

    def to_json(self) -> dict[str, Json]:
        """The record as one JSON document."""
        return {
            "run": self.run,
            "plan_text": self.plan_text,
            "plan_file": self.plan_file,
            "environment": self.environment,
            "status": self.status,
            "created_at": self.created_at.isoformat(),
            "events": [e.to_json() for e in self.events],
            "incidents": {k: dict(v) for k, v in self.incidents.items()},
            "state": dict(self.state),
        }

    @classmethod
    def from_json(cls, document: Mapping[str, object]) -> RunRecord:
        """The record `to_json` wrote; raises ReportError naming a bad field."""
        events = document.get("events", [])
        incidents = document.get("incidents", {})
        state = document.get("state", {})
        if not isinstance(events, list):
            raise ReportError("run record", "`events` must be a list")
        if not isinstance(incidents, dict) or not all(
            isinstance(v, dict) for v in incidents.values()
        ):
            raise ReportError("run record", "`incidents` must map ids to objects")
        if not isinstance(state, dict):
            raise ReportError("run record", "`state` must be an object")
        return cls(
            run=_text(document, "run"),
            plan_text=_text(document, "plan_text"),
            plan_file=str(document.get("plan_file") or "plan.yaml"),
            environment=_text(document, "environment"),
            status=_text(document, "status"),
            created_at=_time(document, "created_at"),
            events=tuple(_event(e) for e in events),
            incidents={str(k): v for k, v in incidents.items()},
            state=state,
        )


def _event(value: object) -> RunEvent:
    if not isinstance(value, dict):
        raise ReportError("run record", "each event must be an object")
    seq, data, actor = value.get("seq"), value.get("data", {}), value.get("actor")
    if isinstance(seq, bool) or not isinstance(seq, int):
        raise ReportError("run record", "an event's `seq` must be an integer")
    if not isinstance(data, dict):
        raise ReportError("run record", f"event {seq}: `data` must be an object")
    if actor is not None and not isinstance(actor, str):
        raise ReportError("run record", f"event {seq}: `actor` must be a string")
    return RunEvent(seq, _time(value, "at"), _text(value, "kind"), actor, data)


def _text(document: Mapping[str, object], key: str) -> str:
    value = document.get(key)
    if not isinstance(value, str):
        raise ReportError("run record", f"`{key}` must be a string")
    return value


def _time(document: Mapping[str, object], key: str) -> dt.datetime:
    try:
        value = dt.datetime.fromisoformat(_text(document, key))
    except ValueError:
        raise ReportError("run record", f"`{key}` must be an ISO date-time") from None
    if value.tzinfo is None:
        raise ReportError("run record", f"`{key}` must carry a time zone")
    return value
