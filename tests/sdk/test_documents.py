"""Snapshot and change documents: what the server sends, read as the store writes it."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from flagramp.core.errors import InvalidSnapshot
from flagramp.core.flags import Flag, Percentage, Segment, export_document
from flagramp.sdk._documents import parse_change_set, parse_snapshot, read_flag
from flagramp.store.documents import (
    flag_document,
    flag_from_document,
    segment_document,
)

FLAGS = [
    Flag(key="kill_switch", boolean=True),
    Flag(
        key="oracle_scheduling",
        percentage_of_actors=Percentage.parse("12.5"),
        eligibility="oracle",
        denied_actors=("User;9",),
        description="seed 003",
    ),
    Flag(key="beta", actors=("User;1", "User;2"), groups=("staff",)),
    Flag(
        key="expr",
        expression={"Equal": [{"Property": ["plan"]}, "basic"]},
        percentage_of_time=Percentage.parse("0"),
        actor_type="User",
    ),
]


@pytest.mark.parametrize("flag", FLAGS, ids=lambda f: f.key)
def test_a_flag_document_reads_back_as_the_store_reads_it(flag: Flag) -> None:
    document = flag_document(flag)
    assert read_flag(document) == flag_from_document(document) == flag


def test_a_snapshot_keeps_every_readable_document_and_reports_the_others() -> None:
    segment = Segment.from_rules("oracle", ["ehr == oracle"])
    document = {
        "environment": "production",
        "version": 42,
        "flags": [
            *(flag_document(f) for f in FLAGS),
            {"key": "broken", "gates": {"percentage_of_actors": "150"}},
            "not an object",
        ],
        "segments": [segment_document(segment), {"name": "empty", "rules": []}],
        "newer_field": {"ignored": True},
    }
    snapshot = parse_snapshot(document, "test")
    assert snapshot.version == 42
    assert dict(snapshot.flags) == {f.key: f for f in FLAGS}
    assert dict(snapshot.segments) == {"oracle": segment}
    assert [(p.kind, p.key) for p in snapshot.problems] == [
        ("segment", "empty"),
        ("flag", "broken"),
        ("flag", None),
    ]
    assert "150" in str(next(p for p in snapshot.problems if p.key == "broken"))


@pytest.mark.parametrize(
    ("document", "complaint"),
    [
        ([], "JSON object"),
        ({"version": 1, "flags": []}, "environment"),
        ({"environment": "p", "version": "1", "flags": []}, "version"),
        ({"environment": "p", "version": -1, "flags": []}, "version"),
        ({"environment": "p", "version": True, "flags": []}, "version"),
        ({"environment": "p", "version": 1, "flags": {}}, "arrays"),
    ],
)
def test_an_unusable_snapshot_frame_is_refused_with_the_reason(
    document: Any, complaint: str
) -> None:
    with pytest.raises(InvalidSnapshot, match=complaint) as caught:
        parse_snapshot(document, "from the test")
    assert caught.value.source == "from the test"


def test_a_flipper_export_bootstraps_flags_at_version_zero() -> None:
    snapshot = parse_snapshot(export_document(FLAGS[:3]), "flipper.json")
    assert snapshot.version == 0
    assert snapshot.flags["beta"].actors == ("User;1", "User;2")
    assert snapshot.flags["oracle_scheduling"].percentage_of_actors == Percentage.parse(
        "12.5"
    )


def test_a_change_set_keeps_changes_in_order_and_skips_kinds_it_does_not_know() -> None:
    changes = parse_change_set(
        {
            "version": 43,
            "changes": [
                {"kind": "flag", "key": "a", "action": "update", "after": {"key": "a"}},
                {"kind": "plan", "key": "p", "action": "update", "after": {}},
                {"kind": "segment", "key": "s", "action": "delete", "after": None},
            ],
        },
        "test",
    )
    assert changes.version == 43
    assert [(c.kind, c.key, c.after) for c in changes.changes] == [
        ("flag", "a", {"key": "a"}),
        ("segment", "s", None),
    ]


@pytest.mark.parametrize(
    "document",
    [
        {"changes": []},
        {"version": 3},
        {"version": 3, "changes": ["x"]},
        {"version": 3, "changes": [{"kind": "flag", "key": "a", "after": [1]}]},
    ],
)
def test_an_unusable_change_event_is_refused(document: Any) -> None:
    with pytest.raises(InvalidSnapshot):
        parse_change_set(document, "test")


def test_every_field_of_a_flag_survives_the_sdks_reading() -> None:
    # A field added to Flag (and to the store's documents) fails here until
    # sdk/_documents.read_flag reads it too: the SDK cannot import the store.
    full = Flag(
        key="everything",
        boolean=True,
        actors=("User;1",),
        groups=("staff",),
        expression={"Equal": [{"Property": ["plan"]}, "basic"]},
        percentage_of_actors=Percentage.parse("33.333"),
        percentage_of_time=Percentage.parse("5"),
        denied_actors=("User;2",),
        eligibility="oracle",
        description="all of it",
        actor_type="User",
        bucket_key="launched_with",
    )
    bare = Flag(key="everything")
    unset = [
        f.name
        for f in dataclasses.fields(Flag)
        if getattr(full, f.name) == getattr(bare, f.name) and f.name != "key"
    ]
    assert unset == [], f"set {unset} in this test and read them in read_flag"
    assert read_flag(flag_document(full)) == full
