"""Which ingest scope a run's events go to, and which one a tick reads.

`evaluate_stage` counts users as first-time exposures of one ingest scope, so
each stage attempt has a scope of its own (docs/evaluation.md): the run string
names the run, the phase, the stage and the minute its flags were set
(`R1/p0/s1/m29393280`), which both the controller and `events push` derive from
the run's state. Besides attempts:

- `R1/p0/pre`: before the phase's first stage (the flags still off): the
  baseline period of relative-to-baseline criteria and the known fingerprints;
- `R1/p0/off/m…`: after a rollback that turned the phase's flags off, until a
  re-enable (what the rollback's verification reads);
- `R1/p0/watch`: an earlier phase's flags, watched by its last stage's
  criteria while later phases run;
- `R1/go-live`: every flag of the run from go live on, while the run is live
  (what its checkpoints read; `go_live_schedule.go_live_scope`).
"""

from __future__ import annotations

import datetime as dt

from flagramp.engine.go_live_schedule import go_live_scope
from flagramp.engine.run_state import RunState


def epoch_minute(at: dt.datetime) -> int:
    """The epoch minute `at` falls in (windows are keyed by epoch minutes)."""
    return int(at.timestamp() // 60)


def attempt_scope(run: str, phase: int, stage: int, entered: dt.datetime) -> str:
    """The scope of one attempt at a stage, entered at `entered`."""
    return f"{run}/p{phase}/s{stage}/m{epoch_minute(entered)}"


def pre_scope(run: str, phase: int) -> str:
    """The scope of a phase before its first stage."""
    return f"{run}/p{phase}/pre"


def watch_scope(run: str, phase: int) -> str:
    """The scope of an earlier phase's flags while later phases run."""
    return f"{run}/p{phase}/watch"


def current_scope(run: str, state: RunState) -> str:
    """Where the current phase's events go now (every flag's, while live)."""
    if state.is_live:
        return go_live_scope(run)
    if state.live_stage is not None and state.stage_entered_at is not None:
        return attempt_scope(run, state.phase, state.live_stage, state.stage_entered_at)
    rollback = state.rollback
    if rollback is not None and rollback.phase == state.phase:
        return f"{run}/p{state.phase}/off/m{epoch_minute(rollback.acted_at)}"
    return pre_scope(run, state.phase)
