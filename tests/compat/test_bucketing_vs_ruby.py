"""percentage_of_actors bucketing, flagramp against the real Ruby Flipper 0.25.4.

Ruby: `flipper[name].enable_percentage_of_actors(p)` on a Memory adapter, then
`enabled?(actor)` for each actor; flagramp: the compiled check and `explain`.
"""

from __future__ import annotations

import functools
import random
import uuid
import zlib
from typing import Any

import pytest

from flagramp.core.clock import VirtualClock
from flagramp.core.flags import Actor, Evaluator, Flag, Percentage
from tests.compat.ruby_peer import RubyPeer

FEATURES = [
    "search",
    "new_checkout",
    "vaos_oracle_scheduling",
    "Ünïcödé功能",
    "a/b c:d",
]
PERCENTAGES: list[int | float] = [0, 0.001, 5, 12.5, 25, 33.333, 99.999, 100]
CASES = [(f, p) for f in FEATURES for p in PERCENTAGES]


def actor_ids(n: int = 2_000, seed: int = 20261123) -> list[str]:
    """Varied flipper_ids: `User;N`, emails, UUIDs, unicode, odd characters."""
    rng = random.Random(seed)
    fixed = ["", " ", "User;1", "user;1", "José", "用户;42", "😀", "Ünïcödé@例え.jp"]
    ids = list(fixed)
    while len(ids) < n:
        kind = len(ids) % 5
        if kind == 0:
            ids.append(f"User;{rng.randrange(1, 10**9)}")
        elif kind == 1:
            ids.append(f"patient.{rng.randrange(10**6)}@example.va.gov")
        elif kind == 2:
            ids.append(str(uuid.UUID(int=rng.getrandbits(128), version=4)))
        elif kind == 3:
            ids.append(f"Пациент;{rng.randrange(10**4)};ñ")
        else:
            ids.append(str(rng.randrange(10**12)))
    return ids


#: Buckets on either side of the thresholds of 0.001, 12.5, 33.333 and 99.999 %.
EDGE_BUCKETS = frozenset({0, 1, 12_499, 12_500, 33_332, 33_333, 99_998, 99_999})


@functools.cache
def edge_ids(feature: str) -> tuple[str, ...]:
    """Ids whose bucket for `feature` sits exactly at a threshold (found by search)."""
    found: dict[int, str] = {}
    n = 0
    while len(found) < len(EDGE_BUCKETS):
        candidate = f"User;{n}"
        b = zlib.crc32((feature + candidate).encode()) % 100_000
        if b in EDGE_BUCKETS:
            found.setdefault(b, candidate)
        n += 1
    return tuple(found.values())


IDS = actor_ids() + [i for f in FEATURES for i in edge_ids(f)]


@pytest.fixture(scope="module")
def ruby_buckets(ruby: RubyPeer) -> dict[tuple[str, float], dict[str, Any]]:
    """Ruby's answers for every (feature, percentage), from one request."""
    reply = ruby.call("bucketing", features=FEATURES, percentages=PERCENTAGES, ids=IDS)
    return {(r["feature"], r["percentage"]): r for r in reply["results"]}


def make_flag(feature: str, pct: float) -> Flag:
    return Flag(key=feature, percentage_of_actors=Percentage.parse(pct))


def evaluator() -> Evaluator:
    return Evaluator({}, VirtualClock(), random.Random(1).random)


def first_differences(ruby_bits: str, ours: str, limit: int = 5) -> list[str]:
    return [
        f"{IDS[i]!r}: ruby {r}, flagramp {o}"
        for i, (r, o) in enumerate(zip(ruby_bits, ours, strict=True))
        if r != o
    ][:limit]


@pytest.mark.parametrize(("feature", "pct"), CASES, ids=[f"{f}-{p}" for f, p in CASES])
def test_compiled_check_matches_ruby_for_every_actor(
    ruby_buckets: dict[tuple[str, float], dict[str, Any]], feature: str, pct: float
) -> None:
    check = evaluator().compile(make_flag(feature, pct)).is_enabled
    ours = "".join("1" if check(i) else "0" for i in IDS)
    expected = ruby_buckets[(feature, pct)]["enabled"]
    assert ours == expected, first_differences(expected, ours)


@pytest.mark.parametrize(("feature", "pct"), CASES, ids=[f"{f}-{p}" for f, p in CASES])
def test_explain_matches_ruby_and_names_the_gate(
    ruby_buckets: dict[tuple[str, float], dict[str, Any]], feature: str, pct: float
) -> None:
    flag, ev = make_flag(feature, pct), evaluator()
    results = [ev.explain(flag, [Actor(i)]) for i in IDS]
    ours = "".join("1" if r.enabled else "0" for r in results)
    expected = ruby_buckets[(feature, pct)]["enabled"]
    assert ours == expected, first_differences(expected, ours)
    for actor_id, result in zip(IDS, results, strict=True):
        expected_gate = "percentage_of_actors" if result.enabled else "default"
        assert result.gate == expected_gate, (actor_id, result)


@pytest.mark.parametrize(("feature", "pct"), CASES, ids=[f"{f}-{p}" for f, p in CASES])
def test_stored_percentage_text_matches_ruby(
    ruby_buckets: dict[tuple[str, float], dict[str, Any]], feature: str, pct: float
) -> None:
    answer = ruby_buckets[(feature, pct)]
    assert Percentage.parse(pct).text == answer["stored"]
    assert Percentage.from_flipper(answer["stored"]).text == answer["typecast"]


@pytest.mark.parametrize("pct", [5, 12.5, 25, 33.333], ids=str)
def test_ruby_share_is_near_the_percentage_so_the_comparison_is_not_vacuous(
    ruby_buckets: dict[tuple[str, float], dict[str, Any]], pct: float
) -> None:
    for feature in FEATURES:
        share = ruby_buckets[(feature, pct)]["enabled"].count("1") / len(IDS)
        assert abs(share - pct / 100) < 0.04, (feature, share)


def test_extreme_percentages_in_ruby_are_all_or_nothing(
    ruby_buckets: dict[tuple[str, float], dict[str, Any]],
) -> None:
    for feature in FEATURES:
        assert set(ruby_buckets[(feature, 0)]["enabled"]) == {"0"}
        assert set(ruby_buckets[(feature, 100)]["enabled"]) == {"1"}


@pytest.mark.parametrize("feature", FEATURES)
def test_threshold_buckets_are_exercised_on_both_sides(
    ruby_buckets: dict[tuple[str, float], dict[str, Any]], feature: str
) -> None:
    # 0.001 % admits bucket 0 only; 99.999 % everything but bucket 99_999.
    bits = dict(zip(IDS, ruby_buckets[(feature, 0.001)]["enabled"], strict=True))
    edges = edge_ids(feature)
    assert [bits[i] for i in edges].count("1") == 1
    bits = dict(zip(IDS, ruby_buckets[(feature, 99.999)]["enabled"], strict=True))
    assert [bits[i] for i in edges].count("0") == 1
