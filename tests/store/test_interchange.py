"""Flipper export import/export and VA's features.yml, on every backend."""

from __future__ import annotations

import json

import pytest

from flagramp.core.errors import ImportInvalid, InvalidIdentifier
from flagramp.core.flags import Segment
from flagramp.core.flags import operations as ops
from flagramp.store import (
    Author,
    FlagStore,
    export_json,
    import_features_yml,
    import_flipper,
)

ALICE = Author("alice@va.gov", "move from Flipper")

# As Ruby Flipper's `export(format: :json, version: 1)` writes it: gates in
# default_config order, percentages as strings ("25.0" kept as written).
FLIPPER_EXPORT = json.dumps(
    {
        "version": 1,
        "features": {
            "search": {
                "boolean": None,
                "groups": ["admins"],
                "actors": ["User;1", "User;10", "User;2"],
                "expression": {"Equal": [{"Property": ["plan"]}, "basic"]},
                "percentage_of_actors": "12.5",
                "percentage_of_time": "10",
            },
            "kill_switch": {
                "boolean": "true",
                "groups": [],
                "actors": [],
                "expression": None,
                "percentage_of_actors": None,
                "percentage_of_time": None,
            },
            "ramp": {
                "boolean": None,
                "groups": [],
                "actors": [],
                "expression": None,
                "percentage_of_actors": "25.0",
                "percentage_of_time": "0",
            },
        },
    },
    separators=(",", ":"),
)


def test_import_then_export_gives_back_the_same_json(store: FlagStore) -> None:
    assert import_flipper(store, FLIPPER_EXPORT, ALICE) == 3
    exported = export_json(store)
    original = json.loads(FLIPPER_EXPORT)
    again = json.loads(exported)
    assert again == original
    # byte-for-byte once both sides order features the same way
    assert json.dumps(again["features"]["search"]) == json.dumps(
        original["features"]["search"]
    )
    assert exported == json.dumps(
        {"version": 1, "features": dict(sorted(original["features"].items()))},
        separators=(",", ":"),
    )


def test_reimport_keeps_flagramp_fields(store: FlagStore) -> None:
    import_flipper(store, FLIPPER_EXPORT, ALICE)
    store.put_segment(Segment.from_rules("oh", ["ehr == oracle"]), ALICE)
    store.change_flag("ramp", lambda f: ops.set_eligibility(f, "oh"), ALICE)
    store.change_flag("ramp", lambda f: ops.deny_actor(f, "User;9"), ALICE)
    assert import_flipper(store, FLIPPER_EXPORT, ALICE) == 0
    ramp = store.require_flag("ramp")
    assert (ramp.eligibility, ramp.denied_actors) == ("oh", ("User;9",))


def test_full_sync_removes_flags_missing_from_the_document(store: FlagStore) -> None:
    import_flipper(store, FLIPPER_EXPORT, ALICE)
    only_search = json.loads(FLIPPER_EXPORT)
    del only_search["features"]["ramp"], only_search["features"]["kill_switch"]
    import_flipper(store, json.dumps(only_search), ALICE, full_sync=True)
    assert [f.key for f in store.list_flags()] == ["search"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", r"import:1:2: not valid JSON"),
        ('{"version": 1}', 'not a Flipper export: no "features" key'),
        ('{"features": []}', '"features" must be an object'),
        ('{"features": {"x": {"actors": "User;1"}}}', "x: actors must be an array"),
        (
            '{"features": {"x": {"expression": {"Nope": []}}}}',
            "unknown function 'Nope'",
        ),
        ('{"features": {"x": {"percentage_of_actors": "250"}}}', "outside 0..100"),
    ],
)
def test_bad_imports_fail_and_write_nothing(
    store: FlagStore, text: str, message: str
) -> None:
    v0 = store.version()
    with pytest.raises(ImportInvalid, match=message):
        import_flipper(store, text, ALICE)
    assert store.version() == v0
    assert store.list_flags() == []


FEATURES_YML = """
features:
  va_online_scheduling_facilities_service_v2:
    actor_type: user
    description: Facilities from the VAOS service
    enable_in_development: true
  va_online_scheduling_vaos_service_requests:
    actor_type: user
    description: Requests through the VAOS service
"""


def test_features_yml_creates_flags_with_descriptions(store: FlagStore) -> None:
    assert import_features_yml(store, FEATURES_YML, ALICE) == 2
    flag = store.require_flag("va_online_scheduling_facilities_service_v2")
    assert (flag.description, flag.actor_type, flag.state) == (
        "Facilities from the VAOS service",
        "user",
        "off",
    )
    import_features_yml(store, FEATURES_YML, ALICE, "development")
    assert (
        store.require_flag(
            "va_online_scheduling_facilities_service_v2", "development"
        ).state
        == "on"
    )
    assert (
        store.require_flag(
            "va_online_scheduling_vaos_service_requests", "development"
        ).state
        == "off"
    )


def test_features_yml_errors_name_the_place(store: FlagStore) -> None:
    with pytest.raises(ImportInvalid, match=r"f.yml:3:1: not valid YAML"):
        import_features_yml(store, "features:\n  x: [unclosed\n", ALICE, source="f.yml")
    with pytest.raises(ImportInvalid, match="enable_in_development must be true/false"):
        import_features_yml(
            store, "features:\n  x:\n    enable_in_development: maybe\n", ALICE
        )


def test_an_import_with_one_bad_key_writes_nothing(
    store: FlagStore,
) -> None:
    import_flipper(store, FLIPPER_EXPORT, ALICE)
    v0 = store.version()
    with pytest.raises(InvalidIdentifier, match="invalid flag key"):
        import_flipper(
            store, '{"version": 1, "features": {"ok": {}, "bad\\u0000key": {}}}', ALICE
        )
    assert store.version() == v0
    assert store.get_flag("ok") is None


def test_an_import_reads_and_writes_in_one_unit_of_work(store: FlagStore) -> None:
    import_flipper(store, FLIPPER_EXPORT, ALICE)
    store.put_segment(Segment.from_rules("oh", ["ehr == oracle"]), ALICE)
    store.change_flag("ramp", lambda f: ops.set_eligibility(f, "oh"), ALICE)
    v0 = store.version()
    changed = json.loads(FLIPPER_EXPORT)
    changed["features"]["ramp"]["percentage_of_actors"] = "50"
    assert import_flipper(store, json.dumps(changed), ALICE) == 1
    ramp = store.require_flag("ramp")
    assert (str(ramp.percentage_of_actors), ramp.eligibility) == ("50%", "oh")
    assert {c.version for c in store.changes_since(v0)} == {v0 + 1}
