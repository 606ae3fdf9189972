"""The guards' bounds by tree bisection equal the sequential bisection, bit for bit."""

from __future__ import annotations

import math
import random

import pytest

from flagramp.stats.estimates import ArmEstimate
from flagramp.stats.guards import Comparison, Direction, RatioGuard, _Test
from flagramp.stats.one_sided import Side


def _arm(rng: random.Random, size: float) -> ArmEstimate:
    p = rng.uniform(0.001, 0.4)
    variance = p * (1 - p) / size
    return ArmEstimate(
        p,
        variance * rng.uniform(1, 3),
        size,
        rng.uniform(1, 3),
        True,
        p * rng.uniform(1.0, 1.05),
        p * rng.uniform(0.95, 1.0),
        variance,
        rng.uniform(1, 2),
    )


@pytest.mark.parametrize("seed", range(2))
def test_tree_bound_equals_sequential_bound(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(30):
        size = rng.choice([20.0, 400.0, 5_000.0, 80_000.0])
        comparison = rng.choice(list(Comparison))
        guard = RatioGuard(
            "g",
            comparison,
            rng.uniform(0.001, 0.1),
            rng.uniform(0.001, 0.05),
            rng.choice([0.01, 0.05]),
            direction=rng.choice(list(Direction)),
            proportion=rng.random() < 0.8,
        )
        reference = _arm(rng, size * rng.uniform(0.5, 20))
        absolute_alone = comparison is Comparison.ABSOLUTE and rng.random() < 0.5
        test = _Test(
            guard,
            _arm(rng, size).moments(),
            None if absolute_alone else reference.moments(),
        )
        for side in Side:
            tree, sequential = test.bound(side), test.bound_sequential(side)
            assert tree == sequential or (math.isnan(tree) and math.isnan(sequential))
