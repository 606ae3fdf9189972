"""What a run is of: the plan as adopted, compiled, and how it runs."""

from __future__ import annotations

from dataclasses import dataclass

from flagramp.core.plans import Plan
from flagramp.engine.compiled import CompiledStage


@dataclass(frozen=True, slots=True)
class RunContext:
    """What a run is of: the plan as adopted, compiled, and how it runs.

    The controller builds it from the text of the plan version the run's state
    follows (`RunState.plan_version`): a revision is adopted at a stage
    boundary, and the next call gets the new plan.
    """

    run: str
    plan: Plan
    stages: tuple[CompiledStage, ...]
    """`compile_plan(plan)`."""
    environment: str
    observe: bool = False
    """The whole plan in observe mode: every move waits for a person."""

    def compiled(self, phase: int, stage: int) -> CompiledStage:
        """The compiled stage (phase and stage indexes); raises KeyError."""
        for candidate in self.stages:
            if candidate.phase_index == phase and candidate.stage_index == stage:
                return candidate
        raise KeyError((phase, stage))
