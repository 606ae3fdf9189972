from __future__ import annotations

import random

import pytest

from flagramp.core.clock import VirtualClock
from flagramp.core.flags import Evaluator, Segment

SEGMENTS = {
    "oracle_health": Segment.from_rules("oracle_health", ["ehr in [oracle, cerner]"]),
    "seniors": Segment.from_rules("seniors", ["age >= 65"]),
}


def make_evaluator(seed: int = 7) -> Evaluator:
    """An evaluator with fixed segments, a fixed clock and seeded dice."""
    return Evaluator(SEGMENTS, VirtualClock(), random.Random(seed).random)


@pytest.fixture
def evaluator() -> Evaluator:
    return make_evaluator()
