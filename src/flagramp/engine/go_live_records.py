"""The go live's records in a run's state: who decided, what it aims at, what's next.

`GoLiveDecision` is kept when the plan's go-live go/no-go passes (before the
last step to 100 %); `GoLiveRecord` when the last rollout stage completes, with
the plan's KPI targets frozen as they were then; `RetireItem` is the checklist
item the run leaves for the team once it completes. Each record writes plain
JSON and reads back an equal value, as `engine.run_records` does.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

from flagramp.core.plans import Kpi
from flagramp.core.types import Json
from flagramp.engine.run_records import (
    VoteRecord,
    iso,
    items,
    mapping,
    opt_number,
    text,
    texts,
    when,
)


@dataclass(frozen=True, slots=True)
class GoLiveDecision:
    """The go-live go/no-go as it passed: its roles and the Launch answers."""

    roles: tuple[str, ...]
    votes: tuple[VoteRecord, ...]
    """The votes that decided it (every role's quorum of Launch)."""
    at: dt.datetime

    def to_json(self) -> dict[str, Json]:
        return {
            "roles": list(self.roles),
            "votes": [v.to_json() for v in self.votes],
            "at": iso(self.at),
        }

    @classmethod
    def from_json(cls, document: Mapping[str, object]) -> GoLiveDecision:
        return cls(
            texts(document, "roles"),
            tuple(
                VoteRecord.from_json(mapping(v, "go_live.votes"))
                for v in items(document, "votes")
            ),
            when(document, "at"),
        )


@dataclass(frozen=True, slots=True)
class KpiTarget:
    """A KPI's target as the plan stated it at go live."""

    name: str
    description: str
    metric: str
    target: str
    """In words: `below 5`."""
    below: float | None
    above: float | None

    @classmethod
    def of(cls, kpi: Kpi) -> KpiTarget:
        return cls(
            kpi.name, kpi.description, kpi.metric, kpi.target(), kpi.below, kpi.above
        )

    def to_json(self) -> dict[str, Json]:
        return {
            "name": self.name,
            "description": self.description,
            "metric": self.metric,
            "target": self.target,
            "below": self.below,
            "above": self.above,
        }

    @classmethod
    def from_json(cls, document: Mapping[str, object]) -> KpiTarget:
        return cls(
            text(document, "name"),
            text(document, "description"),
            text(document, "metric"),
            text(document, "target"),
            opt_number(document, "below"),
            opt_number(document, "above"),
        )


@dataclass(frozen=True, slots=True)
class GoLiveRecord:
    """The moment the plan's last rollout stage completed, and what it aims at."""

    at: dt.datetime
    kpis: tuple[KpiTarget, ...]
    decision: GoLiveDecision | None
    """The go-live go/no-go's answers; None when the plan asks none."""

    @property
    def minute(self) -> int:
        """Go live as an epoch minute (checkpoint spans start here)."""
        return int(self.at.timestamp() // 60)

    def to_json(self) -> dict[str, Json]:
        return {
            "at": iso(self.at),
            "kpis": [k.to_json() for k in self.kpis],
            "decision": None if self.decision is None else self.decision.to_json(),
        }

    @classmethod
    def from_json(cls, document: Mapping[str, object]) -> GoLiveRecord:
        decision = document.get("decision")
        return cls(
            when(document, "at"),
            tuple(
                KpiTarget.from_json(mapping(k, "go_live.kpis"))
                for k in items(document, "kpis")
            ),
            None
            if decision is None
            else GoLiveDecision.from_json(mapping(decision, "go_live.decision")),
        )


@dataclass(frozen=True, slots=True)
class RetireItem:
    """A checklist item for the team: remove a launched flag's old code path."""

    flag: str
    text: str
    role: str
    """The plan role asked to do it (the plan's owner)."""

    def to_json(self) -> dict[str, Json]:
        return {"flag": self.flag, "text": self.text, "role": self.role}

    @classmethod
    def from_json(cls, document: Mapping[str, object]) -> RetireItem:
        return cls(
            text(document, "flag"), text(document, "text"), text(document, "role")
        )


def json_list(document: Mapping[str, object], name: str) -> list[Mapping[str, object]]:
    """The objects of the list field `name` (absent: none; older states)."""
    return [mapping(x, name) for x in items(document, name)]


__all__ = [
    "GoLiveDecision",
    "GoLiveRecord",
    "KpiTarget",
    "RetireItem",
    "json_list",
]
