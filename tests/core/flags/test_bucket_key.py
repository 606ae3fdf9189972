"""Flags launched together share their users: `Flag.bucket_key`.

Shares are counted on a fixed set of 10,000 actors, with bounds of at least 4σ,
so that the tests never flake (DESIGN, "Flags").
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flagramp.core.flags import Actor, Evaluator, Flag, Percentage, flipper_view
from flagramp.core.flags import operations as ops
from flagramp.core.flags.bucketing import in_percentage
from flagramp.core.types import Json
from tests.core.flags.conftest import make_evaluator

ACTORS = [f"veteran-{i}@va.gov" for i in range(10_000)]
QUARTER = Percentage.parse("25")
FIRST, SECOND = "mhv_curated_list_flow", "mhv_recent_recipients"


def _members(evaluator: Evaluator, flag: Flag) -> frozenset[str]:
    check = evaluator.compile(flag).is_enabled
    return frozenset(a for a in ACTORS if check(a))


def _at_quarter(key: str, bucket_key: str | None = None) -> Flag:
    return Flag(key, percentage_of_actors=QUARTER, bucket_key=bucket_key)


def test_flags_sharing_a_bucket_key_give_their_share_to_the_same_actors(
    evaluator: Evaluator,
) -> None:
    first = _members(evaluator, _at_quarter(FIRST))
    second = _members(evaluator, _at_quarter(SECOND, bucket_key=FIRST))
    assert second == first
    # σ = √(10,000 · 0.25 · 0.75) ≈ 43: 4σ either side of 2,500.
    assert 2_327 <= len(first) <= 2_673


def test_without_a_bucket_key_two_flags_pick_their_actors_independently(
    evaluator: Evaluator,
) -> None:
    first = _members(evaluator, _at_quarter(FIRST))
    second = _members(evaluator, _at_quarter(SECOND))
    # Independent quarters overlap on 1/16 of the actors: σ ≈ 24, 4σ around 625.
    assert 528 <= len(first & second) <= 722


def test_a_larger_share_on_a_shared_key_holds_every_actor_of_the_smaller(
    evaluator: Evaluator,
) -> None:
    # Moving one flag on to 50 % keeps everyone who had both at 25 %.
    quarter = _members(evaluator, _at_quarter(FIRST))
    half = Flag(SECOND, percentage_of_actors=Percentage.parse("50"), bucket_key=FIRST)
    assert quarter < _members(evaluator, half)


def test_explain_buckets_on_the_shared_key_and_says_so(evaluator: Evaluator) -> None:
    shared = _at_quarter(SECOND, bucket_key=FIRST)
    compiled = evaluator.compile(shared).is_enabled
    for actor_id in ACTORS[:300]:
        answer = evaluator.explain(shared, [Actor(actor_id)])
        assert answer.enabled == compiled(actor_id)
        assert answer.gate == ("percentage_of_actors" if answer.enabled else "default")
        assert f"(on key {FIRST!r})" in answer.reason


def test_expression_percentages_hash_the_bucket_key(evaluator: Evaluator) -> None:
    expression: dict[str, Json] = {
        "PercentageOfActors": [{"Property": ["flipper_id"]}, 25]
    }
    by_expression = Flag(SECOND, expression=expression, bucket_key=FIRST)
    assert _members(evaluator, by_expression) == _members(evaluator, _at_quarter(FIRST))
    own = Flag(SECOND, expression=expression)
    assert _members(evaluator, own) == _members(evaluator, _at_quarter(SECOND))


def test_several_actors_bucket_together_on_the_shared_key(
    evaluator: Evaluator,
) -> None:
    shared = _at_quarter(SECOND, bucket_key=FIRST)
    for i in range(0, 400, 2):
        pair = [Actor(ACTORS[i]), Actor(ACTORS[i + 1])]
        ids = [a.flipper_id for a in pair]
        assert evaluator.is_enabled(shared, pair) == in_percentage(FIRST, ids, 25)


def test_the_own_key_as_bucket_key_is_none() -> None:
    assert Flag(FIRST, bucket_key=FIRST).bucket_key is None
    assert Flag(FIRST, bucket_key=FIRST) == Flag(FIRST)
    assert Flag(SECOND).with_changes(bucket_key=SECOND) == Flag(SECOND)
    assert Flag(SECOND, bucket_key=FIRST).bucketing_key == FIRST
    assert Flag(SECOND).bucketing_key == SECOND


def test_set_bucket_key_sets_and_clears_it() -> None:
    flag = ops.set_bucket_key(_at_quarter(SECOND), FIRST)
    assert flag.bucket_key == FIRST
    assert flag.percentage_of_actors == QUARTER
    assert ops.set_bucket_key(flag, None).bucket_key is None
    assert ops.set_bucket_key(flag, SECOND).bucket_key is None


@pytest.mark.parametrize("change", [ops.clear, ops.disable, ops.enable])
def test_turning_a_flag_off_or_on_keeps_its_bucket_key(
    change: Callable[[Flag], Flag],
) -> None:
    # A kill switch and a re-enable must hand the same actors their share back.
    flag = ops.set_bucket_key(_at_quarter(SECOND), FIRST)
    assert change(flag).bucket_key == FIRST


def test_ruby_clients_are_said_to_bucket_a_shared_flag_on_its_own_name() -> None:
    shared = flipper_view(_at_quarter(SECOND, bucket_key=FIRST), {})
    assert any(FIRST in d.reason for d in shared.differences)
    assert shared.flag.bucket_key is None
    assert flipper_view(_at_quarter(SECOND), {}).is_exact
    # Nobody is picked by bucket at 0 or 100 %: nothing differs.
    for text in ("0", "100"):
        whole = Flag(SECOND, percentage_of_actors=Percentage.parse(text))
        assert flipper_view(whole.with_changes(bucket_key=FIRST), {}).is_exact


@given(
    actor_id=st.text(max_size=40),
    bucket_key=st.text(min_size=1, max_size=40),
    thousandths=st.integers(min_value=1, max_value=99_999),
)
def test_compiled_checks_bucket_on_the_bucket_key(
    actor_id: str, bucket_key: str, thousandths: int
) -> None:
    pct = Percentage.parse(f"{thousandths / 1000:g}")
    flag = Flag("some_flag", percentage_of_actors=pct, bucket_key=bucket_key)
    expected = in_percentage(bucket_key, [actor_id], pct.value)
    assert make_evaluator().compile(flag).is_enabled(actor_id) == expected
