"""What the controller computes for a due checkpoint, from the window store.

`machine.due_checkpoint` names the checkpoint, its span and the go-live scope;
this reads the scope's windows of each flag (whole: no `start`/`end`, since
`WindowStore.windows` keeps only windows wholly inside its bounds and would drop
a compacted day window at an edge; `compute_checkpoint` takes the overlapping
ones), the environment-level counts of actorless metrics kept beside them
(`go_live_windows.environment_counts`), and calls `compute_checkpoint`.
"""

from __future__ import annotations

from flagramp.engine.checkpoint_result import CheckpointResult
from flagramp.engine.checkpoints import compute_checkpoint
from flagramp.engine.go_live_schedule import DueCheckpoint
from flagramp.engine.go_live_windows import environment_counts
from flagramp.engine.run_context import RunContext
from flagramp.store.windows import WindowStore

__all__ = ["checkpoint_for"]


def checkpoint_for(
    windows: WindowStore, context: RunContext, due: DueCheckpoint
) -> CheckpointResult:
    """The due checkpoint's result from the go-live scope's stored windows."""
    by_flag = {flag: windows.windows(due.scope, flag) for flag in due.flags}
    return compute_checkpoint(
        context.plan,
        due.checkpoint,
        by_flag,
        due.start_minute,
        due.end_minute,
        flag=due.flag,
        last=due.last,
        environment_counts=environment_counts(
            windows, due.scope, context.plan, due.start_minute, due.end_minute
        ),
    )
