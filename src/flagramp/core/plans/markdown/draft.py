"""The draft a document becomes: each value found with its line, each blank a TBD.

A `Slot` is either `Found` (the value, the line it came from, and what else the
document says there) or `Tbd` (left to decide: the line where the document
leaves it blank, if it asks for it at all, and what it says that is not a
value, such as a range or a sample). `emit` writes the draft as YAML.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from flagramp.core.plans.durations import Duration
from flagramp.core.severity import Severity

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Found(Generic[T]):
    """A value the document gives, and where."""

    value: T
    line: int
    written: str = ""
    """The text as written, when it was converted (`1 hr` for 1h)."""
    note: str = ""
    """What the document says beside the value."""


@dataclass(frozen=True, slots=True)
class Tbd:
    """A value left to decide."""

    line: int | None = None
    """Where the document leaves it blank; None if the document never asks."""
    said: str = ""
    """What the document says there that is not a value (a range, a sample)."""


@dataclass(frozen=True, slots=True)
class Hint:
    """Text that guides a decision but decides nothing: a template's examples."""

    text: str
    line: int
    source: str
    """Whose words: `template` (the template's examples) or `document`."""


@dataclass(frozen=True, slots=True)
class DraftQuestion:
    """A question asked at a stage or checkpoint, or after launch."""

    text: Found[str]
    yes_no: bool = False
    answer: Found[str] | None = None
    sample: bool = False
    """`answer` is a template's example (`sample_answer`), never a result."""
    follow_up: DraftQuestion | None = None


@dataclass(frozen=True, slots=True)
class DraftStage:
    """One stage: a share of users held for a time."""

    name: Found[str] | Tbd
    percentage: Found[float] | Tbd
    hold: Found[Duration] | Tbd
    line: int
    """Where the stage starts (its heading), or the phase's line for a stage
    the document never writes."""
    questions: tuple[DraftQuestion, ...] = ()
    metrics: Tbd | None = None
    """The template's `Metrics at this stage`, if present: the metrics to record."""
    description: Found[str] | None = None
    notes: tuple[Found[str], ...] = ()


@dataclass(frozen=True, slots=True)
class Dashboard:
    """A dashboard link."""

    title: Found[str] | Tbd
    url: Found[str] | Tbd


@dataclass(frozen=True, slots=True)
class DraftPhase:
    """A rollout phase: its flags, dates, audience, dashboards and stages."""

    name: Found[str] | Tbd
    line: int
    flags: tuple[Found[str], ...] | Tbd
    start: Found[dt.date] | Tbd | None = None
    end: Found[dt.date] | Tbd | None = None
    """None when the document asks for no date window."""
    audience: Found[str] | Tbd | None = None
    dashboards: tuple[Dashboard, ...] = ()
    monitored_by: Found[str] | None = None
    """Who the document says watches, in its words (roles are for people to name)."""
    hints: tuple[Hint, ...] = ()
    notes: tuple[Found[str], ...] = ()
    stages: tuple[DraftStage, ...] = ()


@dataclass(frozen=True, slots=True)
class DraftSeverity:
    """What the document says to do for one severity."""

    severity: Severity
    line: int
    action: Found[str] | Tbd
    steps: tuple[Found[str], ...] = ()
    revert_required: Found[bool] | None = None


@dataclass(frozen=True, slots=True)
class DraftRollback:
    """The document's rollback process."""

    line: int
    sample: bool = False
    """The section is marked as a template's example."""
    procedure: tuple[Found[str], ...] = ()
    severities: tuple[DraftSeverity, ...] = ()
    hints: tuple[Hint, ...] = ()


@dataclass(frozen=True, slots=True)
class DraftKpi:
    """A post-launch KPI: its name, description and target."""

    name: Found[str]
    description: Found[str] | Tbd
    below: Found[float] | None = None
    above: Found[float] | None = None
    """With neither, the target is left to decide."""


@dataclass(frozen=True, slots=True)
class DraftCheckpoint:
    """A look back after go live (`1-week results`)."""

    name: Found[str]
    after: Found[Duration] | Tbd
    questions: tuple[DraftQuestion, ...] = ()


@dataclass(frozen=True, slots=True)
class DraftGoLive:
    """Go live: the date, the go/no-go, KPIs, checkpoints and questions."""

    line: int
    date: Found[dt.date] | Tbd | None = None
    go_no_go_line: int | None = None
    go_no_go_note: Found[str] | None = None
    kpis: tuple[DraftKpi, ...] = ()
    checkpoints: tuple[DraftCheckpoint, ...] = ()
    questions: tuple[DraftQuestion, ...] = ()


@dataclass(frozen=True, slots=True)
class DraftFlag:
    """A toggle the document names."""

    key: Found[str]
    description: Found[str] | Tbd


@dataclass(frozen=True, slots=True)
class DraftLink:
    """A titled link from the document's header."""

    title: str
    url: str
    line: int


@dataclass(frozen=True, slots=True)
class Draft:
    """A release plan read from a Markdown document."""

    file: str
    title: Found[str] | Tbd
    name: Found[str] | Tbd
    status: Found[str] | None = None
    summary: Found[str] | None = None
    hypothesis: Found[str] | None = None
    links: tuple[DraftLink, ...] = ()
    flags: tuple[DraftFlag, ...] = ()
    prerequisites: tuple[Found[str], ...] = ()
    phases: tuple[DraftPhase, ...] = ()
    rollback: DraftRollback | None = None
    go_live: DraftGoLive | None = None
    metric_hints: tuple[Hint, ...] = ()
    risks: tuple[Found[str], ...] = ()
    people: tuple[Found[str], ...] = field(default=())
    """Who the document names as watching or deciding, in its words."""
