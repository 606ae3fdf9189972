"""flagramp.engine: runs release plans. `compile_plan` turns a plan into guards."""

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

__all__ = [
    "CompileError",
    "CompiledCheck",
    "CompiledCount",
    "CompiledNovelty",
    "CompiledRatio",
    "CompiledStage",
    "FlagSetting",
    "compile_plan",
    "compile_stage",
    "metric_specs",
]
