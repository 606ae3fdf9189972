"""flagramp.core.plans: release plans as code.

`load_plan(text, file)` reads YAML into a frozen `Plan` or raises `PlanInvalid`
with every problem (file:line:column, field path, message, hint); `lint` adds
warnings; `diff` describes a revision; `project` projects the timeline;
`plan_schema` exports the JSON Schema; `new_plan` writes the template.
"""

from __future__ import annotations

from flagramp.core.metric_kinds import MetricKind
from flagramp.core.plans.criteria import (
    AbsoluteCriterion,
    CountCriterion,
    Criterion,
    Mode,
    NewErrorClassCriterion,
    RelativeToBaselineCriterion,
    RelativeToControlCriterion,
    Unit,
)
from flagramp.core.plans.diff import Change, StageRef, diff
from flagramp.core.plans.durations import Duration
from flagramp.core.plans.golive import Checkpoint, GoLive, Kpi
from flagramp.core.plans.gonogo import Answer, GoNoGo, GoNoGoOutcome, decide
from flagramp.core.plans.lint import lint, treatment_share
from flagramp.core.plans.loader import LoadedPlan, load_plan
from flagramp.core.plans.metrics import Metric
from flagramp.core.plans.percentages import PercentOfUsers, parse_percentage
from flagramp.core.plans.phases import (
    Audience,
    ChecklistItem,
    DateWindow,
    Link,
    ManualPhase,
    Phase,
    RolloutPhase,
    TimeOfDay,
)
from flagramp.core.plans.plan import (
    FlagDecl,
    Plan,
    PlanSegment,
    Prerequisite,
    Role,
    Signature,
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
    Environment,
    HookProbe,
    HttpProbe,
    Milestone,
    Probe,
    Promotion,
    PromotionStep,
)
from flagramp.core.plans.rollback import Action, ResumeAt, RollbackPolicy
from flagramp.core.plans.schema import plan_schema
from flagramp.core.plans.stages import Question, Record, Stage
from flagramp.core.plans.template import new_plan
from flagramp.core.plans.timeline import Step, Timeline, project
from flagramp.core.severity import Severity

__all__ = [
    "AbsoluteCriterion",
    "Action",
    "Answer",
    "Audience",
    "Change",
    "ChecklistItem",
    "Checkpoint",
    "CountCriterion",
    "Criterion",
    "DateWindow",
    "Duration",
    "Environment",
    "Finding",
    "FlagDecl",
    "GoLive",
    "GoNoGo",
    "GoNoGoOutcome",
    "HookProbe",
    "HttpProbe",
    "Kpi",
    "Level",
    "Link",
    "LoadedPlan",
    "ManualPhase",
    "Metric",
    "MetricKind",
    "Milestone",
    "Mode",
    "NewErrorClassCriterion",
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
    "Question",
    "Record",
    "RelativeToBaselineCriterion",
    "RelativeToControlCriterion",
    "ResumeAt",
    "Role",
    "RollbackPolicy",
    "RolloutPhase",
    "Severity",
    "Signature",
    "Stage",
    "StageRef",
    "Step",
    "TimeOfDay",
    "Timeline",
    "Traffic",
    "Unit",
    "decide",
    "diff",
    "lint",
    "load_plan",
    "new_plan",
    "parse_percentage",
    "plan_schema",
    "project",
    "treatment_share",
]
