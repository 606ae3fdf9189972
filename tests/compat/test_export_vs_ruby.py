"""Flipper's export document v1 and feature state, against Ruby Flipper 0.25.4.

0.25 has no `export`; the reference (flipper-compat.md, c) defines the document as
the adapter's `get_all` with Sets turned into arrays, in `default_config` key order.
0.25's `default_config` has no `expression` key; main puts it between `actors` and
`percentage_of_actors`, where flagramp writes it (null).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from flagramp.core.flags import Flag, export_document, parse_export
from flagramp.core.flags.flipper_format import flag_from_gates
from tests.compat.ruby_peer import RubyPeer
from tests.compat.test_gates_vs_ruby import Change, apply

FEATURES: dict[str, list[Change]] = {
    "never_set": [("add", None)],
    "kill_switch": [("enable", None)],
    "switched_off": [("enable", None), ("disable", None)],
    "checkout": [
        ("enable_actor", "User;1"),
        ("enable_actor", "User;2"),
        ("enable_group", "oracle"),
        ("enable_percentage_of_actors", 12.5),
        ("enable_percentage_of_time", "10"),
    ],
    "poa_25_0": [("enable_percentage_of_actors", "25.0")],
    "poa_25_int": [("enable_percentage_of_actors", 25)],
    "poa_33_333": [("enable_percentage_of_actors", 33.333)],
    "poa_zeroed": [
        ("enable_percentage_of_actors", 5),
        ("disable_percentage_of_actors", None),
    ],
    "pot_100": [("enable_percentage_of_time", 100)],
    "pot_0": [("enable_percentage_of_time", 0)],
    "groups_only": [("enable_group", "seniors"), ("enable_group", "oracle")],
    "unicode_Ünï": [("enable_actor", "用户;42")],
}
GATE_ORDER = [
    "boolean",
    "groups",
    "actors",
    "expression",
    "percentage_of_actors",
    "percentage_of_time",
]


def flagramp_flags() -> list[Flag]:
    return [apply(Flag(key=name), changes) for name, changes in FEATURES.items()]


@pytest.fixture(scope="module")
def ruby_export(ruby: RubyPeer) -> dict[str, Any]:
    features = [{"name": n, "ops": c} for n, c in FEATURES.items()]
    return ruby.call("export", features=features)


def ruby_document(ruby_export: dict[str, Any]) -> dict[str, Any]:
    """The v1 document from Ruby's get_all, `expression` placed as main does."""
    features = {}
    for key, gates in ruby_export["features"].items():
        ordered = dict(gates)
        ordered["expression"] = None
        features[key] = {gate: ordered[gate] for gate in GATE_ORDER}
    return {"version": 1, "features": features}


def test_ruby_get_all_has_the_0_25_default_config_keys_in_order(
    ruby_export: dict[str, Any],
) -> None:
    without_expression = [g for g in GATE_ORDER if g != "expression"]
    for gates in ruby_export["features"].values():
        assert list(gates) == without_expression


def test_export_document_is_rubys_get_all_byte_for_byte(
    ruby_export: dict[str, Any],
) -> None:
    ours = json.dumps(export_document(flagramp_flags()), ensure_ascii=False)
    theirs = json.dumps(ruby_document(ruby_export), ensure_ascii=False)
    assert ours == theirs


@pytest.mark.parametrize("feature", FEATURES)
def test_each_feature_exports_rubys_gate_values_in_order(
    ruby_export: dict[str, Any], feature: str
) -> None:
    ours = export_document(flagramp_flags())["features"]
    assert isinstance(ours, dict)
    theirs = ruby_document(ruby_export)["features"][feature]
    assert list(ours[feature].items()) == list(theirs.items())  # type: ignore[union-attr]


@pytest.mark.parametrize("feature", FEATURES)
def test_state_matches_ruby(ruby_export: dict[str, Any], feature: str) -> None:
    flag = apply(Flag(key=feature), FEATURES[feature])
    assert flag.state == ruby_export["states"][feature]


def test_importing_rubys_document_and_exporting_it_again_changes_nothing(
    ruby_export: dict[str, Any],
) -> None:
    document = ruby_document(ruby_export)
    parsed = parse_export(json.loads(json.dumps(document)))
    flags = [flag_from_gates(key, gates) for key, gates in parsed.items()]
    assert json.dumps(export_document(flags)) == json.dumps(document)


def test_states_cover_on_conditional_and_off(ruby_export: dict[str, Any]) -> None:
    assert set(ruby_export["states"].values()) == {"on", "conditional", "off"}
