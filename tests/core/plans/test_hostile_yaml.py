"""Hostile YAML fails fast, with a clear message, without building the bomb."""

from __future__ import annotations

import time
import tracemalloc

import pytest

from flagramp.core.plans import PlanInvalid, PlanTooLarge, load_plan
from flagramp.core.plans.compose import MAX_ALIASES, MAX_BYTES, MAX_DEPTH, MAX_NODES

BILLION_LAUGHS = "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]\n"
    for i in range(8)
)


def _load_measured(text: str) -> tuple[PlanInvalid, float, int]:
    tracemalloc.start()
    began = time.perf_counter()
    try:
        with pytest.raises(PlanInvalid) as caught:
            load_plan(text, "bad.yaml")
    finally:
        elapsed = time.perf_counter() - began
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    return caught.value, elapsed, peak


def test_billion_laughs_is_refused_without_expanding() -> None:
    error, elapsed, peak = _load_measured(BILLION_LAUGHS)
    assert isinstance(error, PlanTooLarge)
    assert f"expands to more than {MAX_NODES} values" in str(error)
    assert "anchor bomb" in str(error)
    assert elapsed < 5
    assert peak < 50 * 1024 * 1024


def test_a_50_mb_file_is_refused_before_parsing() -> None:
    text = "a: " + "x" * (50 * 1024 * 1024)
    error, elapsed, _ = _load_measured(text)
    assert isinstance(error, PlanTooLarge)
    assert str(error.problems[0]) == (
        f"bad.yaml:1:1: the file is {len(text)} bytes; a plan may be at most "
        f"{MAX_BYTES} bytes"
    )
    assert elapsed < 5


@pytest.mark.parametrize(
    "text",
    [
        "[" * 10_000 + "]" * 10_000,
        "{a: " * 10_000 + "1" + "}" * 10_000,
        "- " * 10_000 + "1\n",
    ],
    ids=["flow-lists", "flow-maps", "block-lists"],
)
def test_deep_nesting_is_refused(text: str) -> None:
    error, elapsed, peak = _load_measured(text)
    assert f"nested more than {MAX_DEPTH} levels deep" in str(error)
    assert elapsed < 5
    assert peak < 50 * 1024 * 1024


def test_too_many_aliases_are_refused() -> None:
    text = "a: &a 1\nb: [" + ", ".join(["*a"] * (MAX_ALIASES + 1)) + "]\n"
    error, elapsed, _ = _load_measured(text)
    assert f"more than {MAX_ALIASES} aliases" in str(error)
    assert elapsed < 5


def test_an_alias_to_its_own_anchor_is_refused() -> None:
    error, _, _ = _load_measured("a: &a [1, *a]\n")
    assert "bad.yaml:1:11: alias *a refers to its own anchor (a loop)" in str(error)


def test_a_few_anchors_are_fine() -> None:
    from tests.core.plans.sample import BASE

    text = BASE.replace("go_no_go: [eng, po]", "go_no_go: &gate [eng, po]", 1)
    text = text.replace("go_no_go: [eng, po]", "go_no_go: *gate")
    loaded = load_plan(text, "plan.yaml")
    _, phase = next(loaded.plan.rollout_phases())
    assert phase.stages[1].go_no_go is not None
