"""What the outcome builders share about a slice of visits of one hour."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from flagramp.sim.channels import ChannelTable
from flagramp.sim.draws import HourDraws
from flagramp.sim.scenario import Regression
from flagramp.sim.world import World

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

#: Latencies and values are multiples of 1/1024, as ingest quantises them, so
#: sums are exact and the events mode and the aggregate mode agree bit for bit.
QUANTUM = 1024.0


def quantise(values: FloatArray) -> FloatArray:
    """Values rounded to 1/1024 (what `stats.windows.quantise` does)."""
    return np.asarray(np.round(values * QUANTUM) / QUANTUM, dtype=np.float64)


#: (flag, flag_on) -> visits that pass the gate.
GateFunction = Callable[[str | None, bool], BoolArray]
#: A regression -> visits it hits (treated, active, matching users).
HitFunction = Callable[[Regression], BoolArray]


@dataclass(frozen=True, slots=True, eq=False)
class VisitContext:
    """What event builders need about a slice of visits `v0:v1` of an hour."""

    seed: int
    world: World
    draws: HourDraws
    v0: int
    v1: int
    device: IntArray
    table: ChannelTable
    gate: GateFunction
    hit: HitFunction

    @property
    def visits(self) -> int:
        return self.v1 - self.v0
