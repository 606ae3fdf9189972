"""A run record from rows shaped as the run store keeps them (`store.runs`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

import pytest

from flagramp.core.errors import ReportError
from flagramp.core.types import Json
from flagramp.reports.stored import read_record


@dataclass(frozen=True)
class Row:
    id: str = "R1"
    environment: str = "production"
    plan_text: str = "name: x\n"
    status: str = "stage_running"
    state: dict[str, Json] = field(default_factory=dict)
    created_at: str = "2026-01-05T14:00:00.000000+00:00"


@dataclass(frozen=True)
class Event:
    seq: int
    at: str
    kind: str
    actor: str | None
    data: dict[str, Json]


@dataclass(frozen=True)
class Incident:
    incident: str
    record: dict[str, Json]


@dataclass
class Source:
    row: Row = field(default_factory=Row)
    logged: list[Event] = field(default_factory=list)

    def load(self, run: str) -> Row:
        return self.row

    def events(self, run: str, *, since: int = 0) -> Sequence[Event]:
        return self.logged

    def incidents(self, run: str) -> Sequence[Incident]:
        return [Incident("I1", {"severity": "critical"})]


def test_rows_become_a_record_with_times_in_utc() -> None:
    source = Source(
        logged=[
            Event(1, "2026-01-05T14:01:00.000000+00:00", "run_started", None, {}),
            Event(2, "2026-01-05T14:02:00", "voted", "po@va.gov", {"role": "po"}),
        ]
    )
    record = read_record(source, "R1")
    assert record.run == "R1" and record.plan_file == "R1.yaml"
    assert [e.kind for e in record.events] == ["run_started", "voted"]
    assert record.events[1].at == dt.datetime(2026, 1, 5, 14, 2, tzinfo=dt.UTC)
    assert record.incidents == {"I1": {"severity": "critical"}}


def test_a_time_that_is_not_iso_is_refused() -> None:
    with pytest.raises(ReportError, match="not an ISO time"):
        read_record(Source(Row(created_at="yesterday")), "R1")
