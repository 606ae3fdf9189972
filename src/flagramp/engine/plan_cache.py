"""Plans as runs hold them, parsed and compiled once per text (by its hash).

A controller with 1,000 runs of a few plans must not parse and compile YAML for
every run on every tick; a run's plan text changes only through a revision,
which changes its hash.
"""

from __future__ import annotations

from collections import OrderedDict

from flagramp.core.plans import Plan, load_plan
from flagramp.engine.compile import compile_plan
from flagramp.engine.compiled import CompiledStage
from flagramp.engine.machine import RunContext
from flagramp.store.runs import RunRow

#: Distinct plan texts kept compiled.
CACHE_SIZE = 256


class PlanCache:
    """Compiled plans by hash, least recently used first out."""

    def __init__(self, size: int = CACHE_SIZE) -> None:
        self.size = size
        self._compiled: OrderedDict[str, tuple[Plan, tuple[CompiledStage, ...]]] = (
            OrderedDict()
        )

    def compiled(
        self, plan_hash: str, text: str, file: str = "plan.yaml"
    ) -> tuple[Plan, tuple[CompiledStage, ...]]:
        """The plan and its compiled stages; raises PlanInvalid or CompileError."""
        found = self._compiled.get(plan_hash)
        if found is not None:
            self._compiled.move_to_end(plan_hash)
            return found
        plan = load_plan(text, file).plan
        made = (plan, compile_plan(plan))
        self._compiled[plan_hash] = made
        while len(self._compiled) > self.size:
            self._compiled.popitem(last=False)
        return made

    def context(self, row: RunRow) -> RunContext:
        """The run's context: its adopted plan, compiled, and how it runs."""
        plan, stages = self.compiled(row.plan_hash, row.plan_text, f"run {row.id}")
        return RunContext(
            run=row.id,
            plan=plan,
            stages=stages,
            environment=row.environment,
            observe=row.observe,
        )
