"""flagramp.engine: runs release plans. `compile_plan` turns a plan into guards;
`evaluate_stage` decides a stage's guards from its windows; `enqueue` writes a
run's notices into the outbox and `dispatch` sends them."""

from __future__ import annotations

from flagramp.engine.compile import compile_plan, compile_stage, metric_specs
from flagramp.engine.compiled import (
    CompiledCheck,
    CompiledCount,
    CompiledNovelty,
    CompiledRatio,
    CompiledStage,
    CompileError,
    FlagSetting,
)
from flagramp.engine.evaluate import (
    DEFAULT_GRACE_MINUTES,
    evaluate_stage,
    previous_decisions,
)
from flagramp.engine.evidence import (
    share_is_consistent,
    treatment_exposures_since,
    treatment_share_since,
)
from flagramp.engine.notifications.audience import roles_to_reach
from flagramp.engine.notifications.dispatch import DispatchReport, dispatch
from flagramp.engine.notify import Notice, NoticeKind, NoticeRole, enqueue

__all__ = [
    "DEFAULT_GRACE_MINUTES",
    "CompileError",
    "CompiledCheck",
    "CompiledCount",
    "CompiledNovelty",
    "CompiledRatio",
    "CompiledStage",
    "DispatchReport",
    "FlagSetting",
    "Notice",
    "NoticeKind",
    "NoticeRole",
    "compile_plan",
    "compile_stage",
    "dispatch",
    "enqueue",
    "evaluate_stage",
    "metric_specs",
    "previous_decisions",
    "roles_to_reach",
    "share_is_consistent",
    "treatment_exposures_since",
    "treatment_share_since",
]
