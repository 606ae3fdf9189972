"""A release report: the plan, filled in with what happened, as frozen values.

`reports.collect` builds a `ReleaseReport` from what the store holds; the
renderers (`reports.markdown`, `reports.html`) and the charts read nothing else.
Numbers are kept as numbers (tests compare them with the stored windows); the
renderers format them.

A value nobody has given yet is a `Pending`: it says in words what is missing
and who must give it ("not answered yet — VAOS Product Owner"), so a report
never shows a blank or a template placeholder.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Pending:
    """A value nobody has given yet: what is missing and who must give it."""

    what: str
    """`not answered yet`, `not signed yet`, `not reached yet`."""
    who: str | None = None
    """The role and its people, in words; None when nobody is to act."""

    def __str__(self) -> str:
        return f"{self.what} — {self.who}" if self.who else self.what


#: A text someone gave, or what is missing and from whom.
Given = str | Pending


@dataclass(frozen=True, slots=True)
class LinkRow:
    """A titled link (a dashboard, an epic)."""

    title: str
    url: str


@dataclass(frozen=True, slots=True)
class Header:
    """Who and what the report is about."""

    run: str
    plan_name: str
    title: str
    revision: int
    environment: str
    status: str
    """The run's status as the store holds it (`stage_running`, `completed`)."""
    owner: str
    product_owner: str
    started_at: dt.datetime
    as_of: dt.datetime
    """The time the report was made for: nothing later is in it."""
    summary: str | None = None
    hypothesis: str | None = None
    links: tuple[LinkRow, ...] = ()


@dataclass(frozen=True, slots=True)
class RoleRow:
    """A role, its people and what it may sign."""

    name: str
    title: str
    people: tuple[str, ...]
    signs: tuple[str, ...]
    on_call: bool = False


@dataclass(frozen=True, slots=True)
class PrerequisiteRow:
    """A prerequisite with who signed it and when."""

    text: str
    role: str
    signed_by: Given
    signed_at: dt.datetime | None = None
    note: str = ""


@dataclass(frozen=True, slots=True)
class StagePlanning:
    """What the plan says of a stage, and what its traffic lets one expect."""

    percentage: float
    """Percentage of eligible users (as the plan writes it)."""
    treatment_percentage: float
    """The flags' percentage after the phase's holdback."""
    hold: str
    max_time: str
    min_sample: int | None
    expected_users: float | None
    """Users expected in the hold at the plan's traffic (None: no traffic given)."""
    expected_requests: float | None
    go_no_go: tuple[str, ...] = ()
    """Role titles asked before the stage moves on."""
    criteria: tuple[str, ...] = ()
    """Each criterion in words (`error_rate below 5 (critical, rollback)`)."""


@dataclass(frozen=True, slots=True)
class Period:
    """A time a stage ran, from entering it to leaving it (or the report's time)."""

    start: dt.datetime
    end: dt.datetime
    ended_by: str
    """The event that ended it (`stage_entered`, `rolled_back`) or `as of`."""


@dataclass(frozen=True, slots=True)
class CriterionResult:
    """One success criterion: the value from the windows against its limit."""

    label: str
    rule: str
    severity: str
    mode: str
    metric: str | None
    unit: str
    value: float | None
    """From the stage's treatment windows (None: no data)."""
    limit: float | None
    interval: tuple[float, float] | None
    interval_kind: str
    """How the interval was made: the run's always-valid one, or a 95 % one."""
    decision: Given
    """The run's last recorded outcome (`healthy`, `harmful`, `inconclusive`)."""
    control: float | None = None


@dataclass(frozen=True, slots=True)
class MetricComparison:
    """A recorded metric, treatment against control."""

    metric: str
    description: str
    unit: str
    treatment: float | None
    control: float | None

    @property
    def difference(self) -> float | None:
        """Treatment minus control, where both are known."""
        if self.treatment is None or self.control is None:
            return None
        return self.treatment - self.control


@dataclass(frozen=True, slots=True)
class StatusRow:
    """Requests of one event name and status class, per lane."""

    event: str
    status_class: str
    treatment: int
    control: int


@dataclass(frozen=True, slots=True)
class LatencyRow:
    """A quantile metric's p50, p95 and p99 in one lane."""

    metric: str
    lane: str
    count: int
    p50: float | None
    p95: float | None
    p99: float | None


@dataclass(frozen=True, slots=True)
class FingerprintRow:
    """An error fingerprint seen in treatment: how often, by how many, since when."""

    name: str
    count: int
    users: float
    first_seen: dt.datetime
    samples: tuple[str, ...]
    in_control: bool


@dataclass(frozen=True, slots=True)
class SampleRatio:
    """Users per arm against the split the stage set: the χ² look, and what
    the run's own rule makes of these counts."""

    treatment: float
    control: float
    expected_share: float
    observed_share: float | None
    chi2: float
    p_value: float
    """Pearson's χ² p-value at this one look (reported, not acted on)."""
    mismatch: bool
    """Whether the run's rule finds the split off: its always-valid test
    (`stats.check_sample_ratio`), which pauses the run."""
    threshold: float
    """The level `α` that test is run at (`stats.SRM_THRESHOLD`)."""

    @property
    def rule(self) -> str:
        """The run's rule in words, so that a small p-value is read against it."""
        return (
            "the run pauses when its always-valid sample-ratio test rejects at "
            f"α = {self.threshold:g}; a χ² p-value alone does not pause it"
        )


@dataclass(frozen=True, slots=True)
class DataHealthRow:
    """How much of the stage has data, and what the run said of its health."""

    minutes: int
    minutes_with_data: int
    recorded: Given


@dataclass(frozen=True, slots=True)
class VoteRow:
    """One go/no-go answer."""

    role: str
    person: str
    answer: str
    at: dt.datetime
    comment: str


@dataclass(frozen=True, slots=True)
class GoNoGoReport:
    """A go/no-go: who was asked, who answered what, who has not yet."""

    roles: tuple[str, ...]
    note: str | None
    asked_at: dt.datetime | None
    votes: tuple[VoteRow, ...]
    waiting: tuple[Pending, ...]
    outcome: str
    risks: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class AnswerRow:
    """A recorded question and its answer (a person's, or a metric's value)."""

    question: str
    answer: Given
    by: str | None = None
    at: dt.datetime | None = None


@dataclass(frozen=True, slots=True)
class StageResults:
    """What happened in a stage, from its windows and the run's log."""

    periods: tuple[Period, ...]
    treatment_users: float
    control_users: float
    allow_listed_users: float
    criteria: tuple[CriterionResult, ...]
    metrics: tuple[MetricComparison, ...]
    requests_by_status: tuple[StatusRow, ...]
    latency: tuple[LatencyRow, ...]
    fingerprints: tuple[FingerprintRow, ...]
    sample_ratio: SampleRatio | None
    data_health: DataHealthRow
    answers: tuple[AnswerRow, ...]
    criteria_period: Period | None = None
    """When the stage ran more than once: the attempt its criteria are judged
    over (the last, whose decisions they show); None when it ran once."""


@dataclass(frozen=True, slots=True)
class StageReport:
    """A stage: its planning, and its results once it ran."""

    phase: int
    index: int
    name: str
    planning: StagePlanning
    results: StageResults | Pending
    go_no_go: GoNoGoReport | None = None


@dataclass(frozen=True, slots=True)
class PhaseReport:
    """A rollout phase: planning and its stages."""

    index: int
    name: str
    flags: tuple[str, ...]
    window: Given
    audience: Given
    success_criteria: tuple[str, ...]
    dashboards: tuple[LinkRow, ...] | Pending
    monitored_by: tuple[str, ...]
    stages: tuple[StageReport, ...]
    go_no_go: GoNoGoReport | None = None
    """The gate before the phase's first flag change, if the plan has one."""


@dataclass(frozen=True, slots=True)
class TimelineRow:
    """One entry of an incident's timeline."""

    at: dt.datetime
    what: str
    who: str | None


@dataclass(frozen=True, slots=True)
class IncidentReport:
    """An incident: what triggered it, what was done, and why it happened."""

    id: str
    severity: str
    trigger: str
    criterion: str | None
    detected_at: dt.datetime | None
    acted_at: dt.datetime | None
    verified_at: Given
    users_affected: float | None
    acted_by: str | None
    root_cause: Given
    re_enabled: Given
    timeline: tuple[TimelineRow, ...]
    fingerprints: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class MilestoneRow:
    """A milestone's target and actual dates."""

    name: str
    target: dt.date
    actual: dt.date | Pending
    owner: str | None


@dataclass(frozen=True, slots=True)
class KpiRow:
    """A KPI's target and, at a checkpoint, its actual value."""

    name: str
    description: str
    metric: str
    unit: str
    target: str
    actual: float | Pending | None = None
    """The value at a checkpoint; None in the go-live planning list."""
    met: bool | None = None


@dataclass(frozen=True, slots=True)
class ShareRow:
    """One label of a split: how many events carry it, their share in percent."""

    label: str
    count: float
    share: float


@dataclass(frozen=True, slots=True)
class SplitChart:
    """A question's query split by a label at a checkpoint (seed 002's
    messages by platform), drawn as a bar chart and listed as a table."""

    name: str
    """The chart's name among the report's charts (`split-c1-users_sending`)."""
    checkpoint: str
    questions: tuple[str, ...]
    """The questions the split answers (several may query one metric)."""
    metric: str
    split_on: str
    rows: tuple[ShareRow, ...]
    """Largest first; empty when the span has no such events."""
    source: str
    """Where the numbers come from: `the checkpoint's record` or `the windows`."""
    note: str | None = None


@dataclass(frozen=True, slots=True)
class CheckpointReport:
    """A look back some time after go live (1 week, 1 month)."""

    name: str
    after: str
    due_at: dt.datetime | None
    reached: bool
    unique_users: float | Pending
    kpis: tuple[KpiRow, ...]
    answers: tuple[AnswerRow, ...]
    fingerprints: tuple[FingerprintRow, ...] = ()
    splits: tuple[SplitChart, ...] = ()
    """Questions answered by a split query, each with its chart."""
    users_flag: str = ""
    """The flag whose users `unique_users` counts (ON and allow-listed)."""
    recorded: bool = False
    """Whether the numbers are the engine's recorded checkpoint."""


@dataclass(frozen=True, slots=True)
class GoLiveReport:
    """Go live: the desired date, the gate, when it happened, KPIs, checkpoints."""

    desired_date: dt.date | Pending
    went_live_at: dt.datetime | Pending
    go_no_go: GoNoGoReport | None
    kpis: tuple[KpiRow, ...]
    checkpoints: tuple[CheckpointReport, ...]
    questions: tuple[AnswerRow, ...]


@dataclass(frozen=True, slots=True)
class EnvironmentRow:
    """An environment the release passes through (seed 004's table)."""

    name: str
    use: str
    parties: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ChecklistRow:
    """A deployment checklist task: who, when, and who did it."""

    text: str
    role: str
    when: str
    expected: str
    done_by: Given


@dataclass(frozen=True, slots=True)
class PromotionStepReport:
    """One promotion step: its plan and what the run's log says happened."""

    environment: str
    date: dt.date | Pending
    backup: str
    checklist: tuple[ChecklistRow, ...]
    verification: tuple[str, ...]
    go_no_go: tuple[str, ...]
    on_no_go: str
    outcome: Given
    """`go`, `no-go, restored`…, from the log; what is awaited otherwise."""


@dataclass(frozen=True, slots=True)
class PromotionReport:
    """A promotion run's layout (seed 004): environments and steps."""

    environments: tuple[EnvironmentRow, ...]
    window: str
    steps: tuple[PromotionStepReport, ...]


@dataclass(frozen=True, slots=True)
class StepPoint:
    """A flag's percentage from `at` on."""

    at: dt.datetime
    flag: str
    percentage: float


@dataclass(frozen=True, slots=True)
class Marker:
    """A decision or an incident on the rollout's time axis."""

    at: dt.datetime
    kind: str
    """`decision` or `incident`."""
    label: str


@dataclass(frozen=True, slots=True)
class Band:
    """A stage's time on the axis, for the stage bands."""

    start: dt.datetime
    end: dt.datetime
    label: str


@dataclass(frozen=True, slots=True)
class SeriesPoint:
    """A guard metric at one time, cumulative over the stage so far."""

    at: dt.datetime
    treatment: float | None
    low: float | None
    high: float | None
    control: float | None


@dataclass(frozen=True, slots=True)
class GuardSeries:
    """A criterion's metric over a stage, treatment against control."""

    phase: int
    stage: int
    criterion: str
    metric: str
    unit: str
    limit: float | None
    points: tuple[SeriesPoint, ...]


@dataclass(frozen=True, slots=True)
class LatencyPoint:
    """A quantile metric's p50/p95/p99 in one hour of treatment."""

    at: dt.datetime
    p50: float
    p95: float
    p99: float


@dataclass(frozen=True, slots=True)
class LatencySeries:
    """A quantile metric's quantiles hour by hour over the run."""

    metric: str
    unit: str
    points: tuple[LatencyPoint, ...]


@dataclass(frozen=True, slots=True)
class ChartData:
    """What the charts draw; all of it is also in the report's tables."""

    steps: tuple[StepPoint, ...] = ()
    bands: tuple[Band, ...] = ()
    markers: tuple[Marker, ...] = ()
    guards: tuple[GuardSeries, ...] = ()
    latency: tuple[LatencySeries, ...] = ()
    splits: tuple[SplitChart, ...] = ()


@dataclass(frozen=True, slots=True)
class ReleaseReport:
    """The whole report of one run."""

    header: Header
    roles: tuple[RoleRow, ...]
    prerequisites: tuple[PrerequisiteRow, ...]
    phases: tuple[PhaseReport, ...]
    incidents: tuple[IncidentReport, ...]
    milestones: tuple[MilestoneRow, ...]
    go_live: GoLiveReport | None
    risks: tuple[str, ...]
    charts: ChartData = field(default_factory=ChartData)
    promotion: PromotionReport | None = None

    def stages(self) -> tuple[StageReport, ...]:
        """Every stage of every phase, in order."""
        return tuple(s for p in self.phases for s in p.stages)
