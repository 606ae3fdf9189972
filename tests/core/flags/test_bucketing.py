"""Bucketing stability: these numbers must never change (Flipper's rule, pinned)."""

from __future__ import annotations

import pytest

from flagramp.core.flags import bucket, in_percentage

# crc32(feature + id) % 100_000, computed from the rule once and pinned, as
# Flipper's "bucketing stability" spec does. A change here re-buckets every actor.
VECTORS = [
    ("search", "User;1", 97600),
    ("search", "User;2", 72922),
    ("va_online_scheduling_facilities_service_v2", "veteran-1072@va.gov", 189),
    ("uae_oracle_routing", "5f2b7a9e-8c1d-4e3f-9a6b-1c2d3e4f5a6b", 93118),
    ("feature", "ünïcödé@va.gov", 21715),
    ("f", "", 50816),
]


@pytest.mark.parametrize(("feature", "actor", "expected"), VECTORS)
def test_bucket_is_pinned(feature: str, actor: str, expected: int) -> None:
    assert bucket(feature, [actor]) == expected


def test_several_actors_sort_bytewise_and_keep_duplicates() -> None:
    # Flipper ≥ 0.28: feature + ids sorted bytewise, joined, duplicates kept.
    assert bucket("search", ["User;2", "User;10", "User;2"]) == 56225
    assert bucket("search", ["User;10", "User;2", "User;2"]) == 56225
    assert bucket("search", ["User;2", "User;10"]) != 56225


@pytest.mark.parametrize(
    ("percentage", "enabled"),
    [(0, False), (0.189, False), (0.19, True), (5, True), (100, True)],
)
def test_threshold_is_strictly_below(percentage: float, enabled: bool) -> None:
    # bucket 189 is in at 0.19 % (threshold 190) but not at 0.189 % (threshold 189)
    actor = ["veteran-1072@va.gov"]
    flag = "va_online_scheduling_facilities_service_v2"
    assert in_percentage(flag, actor, percentage) is enabled


def test_zero_is_off_and_hundred_is_on_for_every_bucket() -> None:
    ids = [f"user-{i}" for i in range(2_000)]
    assert not any(in_percentage("f", [i], 0) for i in ids)
    assert all(in_percentage("f", [i], 100) for i in ids)
