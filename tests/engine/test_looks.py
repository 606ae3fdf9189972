"""The looks kept in a run's state (`engine.looks`): the chart's figures
(estimate, reference, the minute) read back equal; looks stored before they
were kept still load; the minute alone is not new evidence."""

from __future__ import annotations

import json
import math
from dataclasses import replace

from flagramp.core.severity import Severity
from flagramp.engine.looks import Look, StageLooks
from flagramp.stats import GuardOutcome

SCOPE = "R1/p0/s0/m1"


def _looks(estimate: float, minute: int) -> StageLooks:
    look = Look("a", GuardOutcome.HEALTHY, Severity.HIGH, 0.01, 0.03, estimate, 0.05)
    bare = Look("b", GuardOutcome.INCONCLUSIVE, Severity.LOW, -math.inf, math.inf)
    return StageLooks(SCOPE, (("a", look), ("b", bare)), minute)


def test_the_charts_figures_read_back_equal() -> None:
    looks = _looks(0.02, 29_500_007)
    document = looks.to_json()
    assert document["minute"] == 29_500_007
    criteria = document["criteria"]
    assert isinstance(criteria, dict)
    assert criteria["a"] == {
        "guard": "a",
        "outcome": "healthy",
        "severity": "high",
        "lower": 0.01,
        "upper": 0.03,
        "estimate": 0.02,
        "reference": 0.05,
    }
    # No reference, no key: the looks are written every tick.
    assert criteria["b"] == {
        "guard": "b",
        "outcome": "inconclusive",
        "severity": "low",
        "lower": "-inf",
        "upper": "inf",
        "estimate": "nan",
    }
    text = json.dumps(document, allow_nan=False)
    again = StageLooks.from_json(json.loads(text))
    assert again.to_json() == document
    assert again.minute == 29_500_007
    assert dict(again.criteria)["a"].estimate == 0.02


def test_looks_stored_before_the_figures_were_kept_still_load() -> None:
    old = {
        "scope": SCOPE,
        "criteria": {
            "a": {
                "guard": "a",
                "outcome": "harmful",
                "severity": "high",
                "lower": 0.012,
                "upper": "inf",
            }
        },
    }
    looks = StageLooks.from_json(old)
    assert looks.minute is None
    look = dict(looks.criteria)["a"]
    assert math.isnan(look.estimate) and look.reference is None
    assert looks.previous(SCOPE)["a"].is_harmful


def test_only_the_minute_moved_is_the_same_evidence() -> None:
    looks = _looks(0.02, 29_500_007)
    assert looks.same_evidence(_looks(0.02, 29_500_008))
    assert not looks.same_evidence(_looks(0.021, 29_500_008))
    assert not looks.same_evidence(replace(looks, scope="R1/p0/s1/m9"))
    assert not looks.same_evidence(None)
