"""A stage's windows into a `StageEvaluation`: every compiled check decided.

OWNED BY THE EVALUATE WORK.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from flagramp.engine.compiled import CompiledStage
from flagramp.engine.evaluation import StageEvaluation
from flagramp.stats.windows import Window

#: Minutes without exposures or metric events before the data counts as missing.
DEFAULT_GRACE_MINUTES = 10


def evaluate_stage(
    stage: CompiledStage,
    windows: Mapping[str, Sequence[Window]],
    *,
    minute: int,
    started: int,
    observe: bool = False,
    grace_minutes: int = DEFAULT_GRACE_MINUTES,
) -> StageEvaluation:
    """Decide every check of `stage` over `windows` (flag -> the stage's windows
    from epoch minute `started` until `minute`)."""
    raise NotImplementedError
