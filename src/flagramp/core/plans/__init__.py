"""flagramp.core.plans: release plans as code.

`load_plan(text, file)` reads YAML into a frozen `Plan` or raises `PlanInvalid`
with every problem (file:line:column, field path, message, hint); `lint` adds
warnings; `diff` describes a revision; `project` projects the timeline;
`plan_schema` exports the JSON Schema; `new_plan` writes the template. How a plan
runs (shares, α, exits, gates) is computed in `semantics`.
"""

from __future__ import annotations

from flagramp.core.metric_kinds import MetricKind
from flagramp.core.plans.alerts import AlertRule, Notification, Topic
from flagramp.core.plans.criteria import (
    AbsoluteCriterion,
    AfterStepBack,
    Baseline,
    BaselineFrom,
    CountCriterion,
    CountScale,
    Criterion,
    Mode,
    NewErrorClassCriterion,
    RelativeToBaselineCriterion,
    RelativeToControlCriterion,
    Unit,
)
from flagramp.core.plans.declared_events import EventDecl, EventKind
from flagramp.core.plans.detectability import (
    DetectabilityQuery,
    DetectableEffect,
    detectability,
)
from flagramp.core.plans.diff import Change, StageRef, diff
from flagramp.core.plans.durations import Duration
from flagramp.core.plans.golive import Checkpoint, GoLive, Kpi
from flagramp.core.plans.gonogo import NO_GO, Answer, GoNoGo, GoNoGoOutcome, decide
from flagramp.core.plans.lint import lint
from flagramp.core.plans.loader import LoadedPlan, load_plan
from flagramp.core.plans.metrics import (
    Metric,
    MetricSource,
    PushedSource,
    QuerySource,
)
from flagramp.core.plans.percentages import PercentOfUsers, parse_percentage
from flagramp.core.plans.phases import (
    Audience,
    ChecklistItem,
    DateWindow,
    HoldbackUntil,
    Link,
    ManualPhase,
    Phase,
    RolloutPhase,
    TimeOfDay,
    WatchedUntil,
)
from flagramp.core.plans.plan import (
    DEFAULT_ENVIRONMENT,
    FlagDecl,
    Plan,
    PlanSegment,
    Prerequisite,
    Role,
    Signature,
    Task,
    Traffic,
)
from flagramp.core.plans.problems import (
    Finding,
    Level,
    PlanInvalid,
    PlanTooLarge,
    Problem,
)
from flagramp.core.plans.promotion import (
    Backup,
    Environment,
    HookProbe,
    HttpProbe,
    Milestone,
    Probe,
    Promotion,
    PromotionStep,
)
from flagramp.core.plans.rollback import (
    Action,
    ReEnable,
    ResumeAt,
    RollbackPolicy,
    SeverityPolicy,
)
from flagramp.core.plans.schema import plan_schema
from flagramp.core.plans.semantics import (
    StageExit,
    acts,
    alpha_share,
    entry_gates,
    is_allow_list_stage,
    last_step_to_full,
    resume_stage,
    stage_exit,
    step_back_to,
    treatment_percentage,
    treatment_share,
)
from flagramp.core.plans.stages import (
    DEFAULT_ALPHA,
    DEFAULT_BETA,
    Question,
    Record,
    Stage,
)
from flagramp.core.plans.template import new_plan
from flagramp.core.plans.timeline import Step, Timeline, TimelineOutOfRange, project
from flagramp.core.severity import Severity

__all__ = [
    "DEFAULT_ALPHA",
    "DEFAULT_BETA",
    "DEFAULT_ENVIRONMENT",
    "NO_GO",
    "AbsoluteCriterion",
    "Action",
    "AfterStepBack",
    "AlertRule",
    "Answer",
    "Audience",
    "Backup",
    "Baseline",
    "BaselineFrom",
    "Change",
    "ChecklistItem",
    "Checkpoint",
    "CountCriterion",
    "CountScale",
    "Criterion",
    "DateWindow",
    "DetectabilityQuery",
    "DetectableEffect",
    "Duration",
    "Environment",
    "EventDecl",
    "EventKind",
    "Finding",
    "FlagDecl",
    "GoLive",
    "GoNoGo",
    "GoNoGoOutcome",
    "HoldbackUntil",
    "HookProbe",
    "HttpProbe",
    "Kpi",
    "Level",
    "Link",
    "LoadedPlan",
    "ManualPhase",
    "Metric",
    "MetricKind",
    "MetricSource",
    "Milestone",
    "Mode",
    "NewErrorClassCriterion",
    "Notification",
    "PercentOfUsers",
    "Phase",
    "Plan",
    "PlanInvalid",
    "PlanSegment",
    "PlanTooLarge",
    "Prerequisite",
    "Probe",
    "Problem",
    "Promotion",
    "PromotionStep",
    "PushedSource",
    "QuerySource",
    "Question",
    "ReEnable",
    "Record",
    "RelativeToBaselineCriterion",
    "RelativeToControlCriterion",
    "ResumeAt",
    "Role",
    "RollbackPolicy",
    "RolloutPhase",
    "Severity",
    "SeverityPolicy",
    "Signature",
    "Stage",
    "StageExit",
    "StageRef",
    "Step",
    "Task",
    "TimeOfDay",
    "Timeline",
    "TimelineOutOfRange",
    "Topic",
    "Traffic",
    "Unit",
    "WatchedUntil",
    "acts",
    "alpha_share",
    "decide",
    "detectability",
    "diff",
    "entry_gates",
    "is_allow_list_stage",
    "last_step_to_full",
    "lint",
    "load_plan",
    "new_plan",
    "parse_percentage",
    "plan_schema",
    "project",
    "resume_stage",
    "stage_exit",
    "step_back_to",
    "treatment_percentage",
    "treatment_share",
]
