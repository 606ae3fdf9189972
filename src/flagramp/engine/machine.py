"""The run as a pure state machine: `start`, `tick` and `command` return a `Step`.

OWNED BY THE MACHINE WORK. No I/O, no clock reads: `now` is passed in.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from flagramp.core.plans import Plan
from flagramp.engine.commands import Command
from flagramp.engine.compiled import CompiledStage
from flagramp.engine.evaluation import Observation
from flagramp.engine.run_state import RunState
from flagramp.engine.steps import Step


@dataclass(frozen=True, slots=True)
class RunContext:
    """What a run is of: the plan as adopted, compiled, and how it runs."""

    run: str
    plan: Plan
    stages: tuple[CompiledStage, ...]
    """`compile_plan(plan)`."""
    environment: str
    observe: bool = False
    """The whole plan in observe mode: every move waits for a person."""


def start(context: RunContext, now: dt.datetime) -> Step:
    """The run's first step: its initial state and the `run_started` event."""
    raise NotImplementedError


def tick(
    context: RunContext, state: RunState, now: dt.datetime, observation: Observation
) -> Step:
    """What the time and the evidence make of the run."""
    raise NotImplementedError


def command(
    context: RunContext, state: RunState, now: dt.datetime, cmd: Command
) -> Step:
    """What a person's command makes of the run; raises CommandRefused."""
    raise NotImplementedError
