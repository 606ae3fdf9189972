"""The fast aggregates as windows equal what the real ingest makes of the events."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from flagramp.cli.sim_windows import ScopeWindows
from flagramp.sim import span_aggregate, span_batches
from flagramp.stats.ingest import WindowIngest
from flagramp.stats.windows import Lane, Window, merge_all
from tests.sim.test_stats_windows import SPECS
from tests.sim.worlds import MONDAY, flags, small_world


def _by_lane(windows: tuple[Window, ...]) -> dict[Lane, Window]:
    lanes = {w.key.lane for w in windows}
    return {
        lane: merge_all([w for w in windows if w.key.lane is lane]) for lane in lanes
    }


@pytest.mark.parametrize("percentage", [30.0, 100.0])
def test_two_spans_of_windows_equal_the_ingested_events(percentage: float) -> None:
    world = small_world(visits_per_day=20_000)
    states = flags(percentage)
    cuts = (MONDAY + 600, MONDAY + 660, MONDAY + 700)
    ingest = WindowIngest("run-1", "new_flow", SPECS)
    scope = ScopeWindows("run-1", "new_flow", SPECS)
    fast: list[Window] = []
    for a, b in itertools.pairwise(cuts):
        for batch in span_batches(8, world, a, b, states):
            ingest.add_batch(batch)
        fast += scope.add(span_aggregate(8, world, a, b, states))
    # One window per span and lane, covering the span.
    assert {(w.key.start, w.key.end) for w in fast} == {
        (600 + MONDAY, 660 + MONDAY),
        (660 + MONDAY, 700 + MONDAY),
    }
    real, got = _by_lane(ingest.windows()), _by_lane(tuple(fast))
    assert real.keys() == got.keys()
    for lane, want in real.items():
        have = got[lane]
        assert np.array_equal(have.exposed.numerator, want.exposed.numerator)
        assert np.array_equal(have.exposed.denominator, want.exposed.denominator)
        assert have.actors.estimate() == want.actors.estimate()
        for spec in SPECS:
            got_m, want_m = have.metrics[spec.name], want.metrics[spec.name]
            assert np.array_equal(got_m.sums.numerator, want_m.sums.numerator), (
                spec.name
            )
            assert np.array_equal(got_m.sums.denominator, want_m.sums.denominator), (
                spec.name
            )
            if want_m.actors is not None:
                assert got_m.actors is not None
                assert got_m.actors.estimate() == want_m.actors.estimate(), spec.name
            if want_m.sketch is not None and want_m.sketch.count:
                assert got_m.sketch is not None
                assert np.array_equal(got_m.sketch.keys, want_m.sketch.keys)
                assert got_m.sketch.quantile(0.95) == want_m.sketch.quantile(0.95)
        assert {n: f.count for n, f in have.fingerprints.items()} == {
            n: f.count for n, f in want.fingerprints.items()
        }
        for name, f in want.fingerprints.items():
            assert have.fingerprints[name].first_seen // 60 == f.first_seen // 60
        counts = {k: c.count for k, c in have.breakdown.items()}
        assert counts == {k: c.count for k, c in want.breakdown.items()}
