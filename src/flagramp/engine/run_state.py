"""A run's state: what the machine reads and returns, kept as JSON in the store.

OWNED BY THE MACHINE WORK: fields beyond these are added there; `to_json` and
`from_json` must round-trip every field exactly.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from flagramp.core.types import Json


class RunStatus(StrEnum):
    """Where a run is; `docs/engine.md` draws the transitions."""

    WAITING_PREREQUISITES = "waiting_prerequisites"
    WAITING_WINDOW = "waiting_window"
    STAGE_RUNNING = "stage_running"
    AWAITING_GO_NO_GO = "awaiting_go_no_go"
    PAUSED = "paused"
    ROLLED_BACK = "rolled_back"
    MANUAL_PHASE = "manual_phase"
    GO_LIVE_WATCHING = "go_live_watching"
    CHECKPOINT_DUE = "checkpoint_due"
    COMPLETED = "completed"
    ABORTED = "aborted"

    @property
    def is_final(self) -> bool:
        return self in (RunStatus.COMPLETED, RunStatus.ABORTED)


@dataclass(frozen=True, slots=True)
class RunState:
    """The run's position and everything it is waiting for."""

    status: RunStatus
    phase: int
    """Index into `plan.phases`."""
    stage: int | None
    """Index into the phase's stages; None before its first stage or in a
    manual phase."""
    since: dt.datetime
    """When `status` (or the stage) was entered."""

    def to_json(self) -> dict[str, Json]:
        raise NotImplementedError

    @classmethod
    def from_json(cls, document: Mapping[str, object]) -> RunState:
        raise NotImplementedError

    def waiting_for(self) -> str:
        """What the run waits for, and who must act, in words."""
        raise NotImplementedError
