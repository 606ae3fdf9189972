"""flagramp.engine: runs release plans. `compile_plan` turns a plan into guards;
`enqueue` writes a run's notices into the outbox and `dispatch` sends them."""

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
from flagramp.engine.notifications.audience import roles_to_reach
from flagramp.engine.notifications.dispatch import DispatchReport, dispatch
from flagramp.engine.notify import Notice, NoticeKind, NoticeRole, enqueue

__all__ = [
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
    "metric_specs",
    "roles_to_reach",
]
