"""Adopting Flipper's tables: the first time a store opens them.

Every feature becomes a flag (audited `adopt`); where flagramp already had the
flag, Flipper's rows win unless they already are what flagramp would write;
flags only flagramp has are written into Flipper's tables; what flagramp cannot
hold is reported and left alone.
"""

from __future__ import annotations

from flagramp.core.flags import Flag, Percentage, Segment
from flagramp.store import Author, SqlFlagStore
from flagramp.store.flipper import ADOPT_ACTION
from flagramp.store.flipper_outbox_tables import flipper_adoptions, flipper_mirror
from tests.store.flipper.conftest import FlipperSetup
from tests.store.flipper.tables import execute, feature_keys, gate_rows

ALICE = Author("alice@va.gov", "before adoption")
STAMP = "2026-12-01 10:00:00"


def rails_rows(setup: FlipperSetup, features: dict[str, list[tuple[str, str]]]) -> None:
    key = "`key`" if setup.flipper_url.startswith("mysql") else '"key"'
    statements = []
    for feature, gates in features.items():
        statements.append(
            f"INSERT INTO flipper_features ({key}, created_at, updated_at) "
            f"VALUES ('{feature}', '{STAMP}', '{STAMP}')"
        )
        statements += [
            f"INSERT INTO flipper_gates (feature_key, {key}, value, created_at, "
            f"updated_at) VALUES ('{feature}', '{gate}', '{value}', '{STAMP}', "
            f"'{STAMP}')"
            for gate, value in gates
        ]
    execute(setup.flipper_url, *statements)


def test_flags_flagramp_had_meet_the_features_flipper_has(
    flipper_setup: FlipperSetup,
) -> None:
    flipper_setup.tables("text")
    rails_rows(
        flipper_setup,
        {
            "same": [("boolean", "true")],
            "differs": [("percentage_of_actors", "50")],
            "only_flipper": [("actors", "User;1")],
        },
    )
    own = SqlFlagStore.open(flipper_setup.own_url)
    own.create_flag(Flag("same", boolean=True, description="kept"), ALICE)
    own.create_flag(Flag("differs", percentage_of_actors=Percentage.parse("5")), ALICE)
    own.create_flag(Flag("only_flagramp", boolean=True), ALICE)
    own.engine.dispose()
    v0 = 3
    store = flipper_setup.open()
    changes = {c.key: c for c in store.changes_since(v0)}
    assert sorted(changes) == ["differs", "only_flipper"]
    assert {c.action for c in changes.values()} == {ADOPT_ACTION}
    assert store.require_flag("same").description == "kept"
    assert store.require_flag("differs").percentage_of_actors == Percentage.parse("50")
    assert store.require_flag("only_flipper").actors == ("User;1",)
    # Flipper never had `only_flagramp`: it is written there, not deleted here.
    assert store.require_flag("only_flagramp").boolean
    assert feature_keys(flipper_setup.flipper_url) == [
        "differs",
        "only_flagramp",
        "only_flipper",
        "same",
    ]
    assert gate_rows(flipper_setup.flipper_url)["only_flagramp"] == [
        ("boolean", "true")
    ]
    assert store.sync().recorded == []


def test_what_flagramp_cannot_hold_is_reported_and_left_alone(
    flipper_setup: FlipperSetup,
) -> None:
    flipper_setup.tables("text")
    rails_rows(
        flipper_setup,
        {
            "fine": [("boolean", "true")],
            "too_much": [("percentage_of_actors", "150")],
            "bad expression": [("expression", '{"Nope":[]}')],
            "trailing ": [("boolean", "true")],
        },
    )
    store = flipper_setup.open()
    assert [f.key for f in store.list_flags()] == ["fine"]
    assert store.last_sync is not None
    reasons = {u.key: u.reason for u in store.last_sync.unreadable}
    assert sorted(reasons) == ["bad expression", "too_much", "trailing "]
    assert "outside 0..100" in reasons["too_much"]
    assert "white space" in reasons["trailing "]
    assert "Nope" in reasons["bad expression"]
    # Nothing changed since: a later round reads nothing and reports nothing.
    assert store.sync().unreadable == []
    # A process starting afresh compares everything and reports them again.
    assert len(flipper_setup.open().last_sync.unreadable) == 3  # type: ignore[union-attr]
    assert gate_rows(flipper_setup.flipper_url)["too_much"] == [
        ("percentage_of_actors", "150")
    ]


def test_a_lost_mirror_does_not_turn_flagramps_own_rows_into_changes(
    flipper_setup: FlipperSetup,
) -> None:
    flipper_setup.tables("text")
    store = flipper_setup.open()
    store.put_segment(Segment.from_rules("oracle", ["ehr == oracle"]), ALICE)
    store.create_flag(
        Flag("uae", eligibility="oracle", percentage_of_actors=Percentage.parse("25")),
        ALICE,
    )
    store.close()
    with store.engine.begin() as conn:
        conn.execute(flipper_mirror.delete())
        conn.execute(flipper_adoptions.delete())
    again = flipper_setup.open()
    # Flipper's rows are what flagramp's flag writes: the flag keeps its
    # eligibility, and nothing is recorded.
    assert again.require_flag("uae").eligibility == "oracle"
    assert again.history("uae")[-1].actor == "alice@va.gov"
    assert again.is_adopted()


def test_a_flagramp_flag_the_tables_cannot_hold_does_not_stop_adoption(
    flipper_setup: FlipperSetup,
) -> None:
    flipper_setup.tables("string")  # Flipper 0.25: no expressions
    rails_rows(flipper_setup, {"search": [("boolean", "true")]})
    own = SqlFlagStore.open(flipper_setup.own_url)
    own.put_segment(Segment.from_rules("oracle", ["ehr == oracle"]), ALICE)
    own.create_flag(
        Flag("uae", eligibility="oracle", percentage_of_actors=Percentage.parse("5")),
        ALICE,
    )
    own.engine.dispose()
    store = flipper_setup.open()
    assert store.require_flag("search").boolean
    assert store.last_sync is not None
    [problem] = store.last_sync.unreadable
    assert problem.key == "uae"
    assert problem.reason.startswith(
        "flagramp's flag is not written to Flipper's tables: flag 'uae' in "
        "'production' cannot be kept in Flipper's tables: its eligibility segment"
    )
    assert feature_keys(flipper_setup.flipper_url) == ["search"]
    assert store.require_flag("uae").eligibility == "oracle"
