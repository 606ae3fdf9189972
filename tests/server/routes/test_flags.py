"""Flags over HTTP: each operation, its audit row, and its refusals."""

from __future__ import annotations

from typing import Any

import pytest

from tests.server.conftest import Api


def _create(api: Api, key: str = "new_flow") -> None:
    answer = api.client.post(
        "/api/v1/flags",
        json={"key": key, "why": "launch"},
        headers=api.headers("engineer"),
    )
    assert answer.status_code == 201, answer.text


@pytest.mark.parametrize(
    ("method", "path", "body", "gates", "extra"),
    [
        ("POST", "enable", {}, {"boolean": "true"}, {}),
        (
            "PUT",
            "percentage",
            {"percentage": "12.5"},
            {"percentage_of_actors": "12.5"},
            {},
        ),
        (
            "PUT",
            "percentage",
            {"percentage": 5, "of": "time"},
            {"percentage_of_time": "5"},
            {},
        ),
        ("POST", "actors", {"actor": "User;1"}, {"actors": ["User;1"]}, {}),
        ("POST", "groups", {"group": "admins"}, {"groups": ["admins"]}, {}),
        ("POST", "denied", {"actor": "User;2"}, {}, {"denied_actors": ["User;2"]}),
        (
            "PUT",
            "expression",
            {"expression": {"Equal": [{"Property": ["ehr"]}, "oracle"]}},
            {"expression": {"Equal": [{"Property": ["ehr"]}, "oracle"]}},
            {},
        ),
    ],
)
def test_each_gate_operation_changes_the_flag_and_is_audited_as_the_caller(
    api: Api,
    method: str,
    path: str,
    body: dict[str, Any],
    gates: dict[str, Any],
    extra: dict[str, Any],
) -> None:
    _create(api)
    answer = api.client.request(
        method,
        f"/api/v1/flags/new_flow/{path}",
        json={**body, "why": "stage 1"},
        headers=api.headers("engineer"),
    )
    assert answer.status_code == 200, answer.text
    flag = answer.json()
    for gate, value in gates.items():
        assert flag["gates"][gate] == value
    for field, value in extra.items():
        assert flag[field] == value
    last = api.store.history("new_flow")[-1]
    assert (last.actor, last.reason) == ("engineer@example.org", "stage 1")


def test_disable_removes_and_delete_needs_an_operator(api: Api) -> None:
    _create(api)
    api.client.post("/api/v1/flags/new_flow/enable", headers=api.headers("engineer"))
    off = api.client.post(
        "/api/v1/flags/new_flow/disable", headers=api.headers("engineer")
    )
    assert off.json()["state"] == "off"
    refused = api.client.delete(
        "/api/v1/flags/new_flow", headers=api.headers("engineer")
    )
    assert refused.status_code == 403
    gone = api.client.delete(
        "/api/v1/flags/new_flow",
        params={"why": "cleanup"},
        headers=api.headers("operator"),
    )
    assert gone.status_code == 204
    assert api.store.get_flag("new_flow") is None


def test_keys_with_slashes_and_percent_signs_reach_their_flag(api: Api) -> None:
    _create(api, "team/new flow%")
    answer = api.client.post(
        "/api/v1/flags/team%2Fnew%20flow%25/enable", headers=api.headers("engineer")
    )
    assert answer.status_code == 200, answer.text
    got = api.client.get("/api/v1/flags/team/new%20flow%25", headers=api.headers("sdk"))
    assert (got.json()["key"], got.json()["state"]) == ("team/new flow%", "on")


@pytest.mark.parametrize(
    ("path", "body", "status", "code"),
    [
        ("missing/enable", {}, 404, "not_found"),
        ("new_flow/percentage", {"percentage": "101"}, 422, "invalid_percentage"),
        ("new_flow/percentage", {"percentage": "1.2345"}, 422, "invalid_percentage"),
        (
            "new_flow/expression",
            {"expression": {"Nope": []}},
            422,
            "invalid_expression",
        ),
        ("new_flow/eligibility", {"segment": "nobody"}, 404, "not_found"),
        ("new_flow/actors", {}, 422, "invalid_request"),
    ],
)
def test_refused_changes_are_problems_and_write_nothing(
    api: Api, path: str, body: dict[str, Any], status: int, code: str
) -> None:
    _create(api)
    before = api.store.version()
    method = "POST" if path.endswith(("enable", "actors")) else "PUT"
    answer = api.client.request(
        method, f"/api/v1/flags/{path}", json=body, headers=api.headers("engineer")
    )
    assert (answer.status_code, answer.json()["code"]) == (status, code), answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert api.store.version() == before


def test_evaluate_says_which_gate_decided_and_counts_the_evaluation(api: Api) -> None:
    _create(api)
    api.client.post(
        "/api/v1/flags/new_flow/actors",
        json={"actor": "u1"},
        headers=api.headers("engineer"),
    )
    answer = api.client.post(
        "/api/v1/flags/new_flow/evaluate",
        json={"actors": [{"flipper_id": "u1"}]},
        headers=api.headers("sdk"),
    )
    assert (answer.json()["enabled"], answer.json()["gate"]) == (True, "actor")
    metrics = api.client.get("/metrics", headers=api.headers("viewer")).text
    assert 'flagramp_evaluations_total{environment="production"} 1.0' in metrics


def test_history_lists_every_change_with_before_and_after(api: Api) -> None:
    _create(api)
    api.client.post("/api/v1/flags/new_flow/enable", headers=api.headers("engineer"))
    history = api.client.get(
        "/api/v1/flags/new_flow/history", headers=api.headers("viewer")
    ).json()
    assert [e["action"] for e in history["entries"]] == ["create", "enable"]
    assert history["entries"][1]["after"]["gates"]["boolean"] == "true"


def test_a_bucket_key_is_set_shown_and_cleared(api: Api) -> None:
    _create(api, "first_flow")
    _create(api)
    plain = api.client.get("/api/v1/flags/new_flow", headers=api.headers("viewer"))
    assert plain.json()["bucket_key"] is None
    shared = api.client.put(
        "/api/v1/flags/new_flow/bucket_key",
        json={"bucket_key": "first_flow", "why": "launched together"},
        headers=api.headers("engineer"),
    )
    assert shared.status_code == 200, shared.text
    assert shared.json()["bucket_key"] == "first_flow"
    assert api.store.require_flag("new_flow").bucket_key == "first_flow"
    last = api.store.history("new_flow")[-1]
    assert (last.action, last.reason) == ("bucket_key", "launched together")
    snapshot = api.client.get(
        "/api/v1/environments/production/snapshot", headers=api.headers("sdk")
    )
    [document] = [f for f in snapshot.json()["flags"] if f["key"] == "new_flow"]
    assert document["bucket_key"] == "first_flow"
    cleared = api.client.put(
        "/api/v1/flags/new_flow/bucket_key",
        json={"bucket_key": None, "why": "own users again"},
        headers=api.headers("engineer"),
    )
    assert cleared.json()["bucket_key"] is None
    refused = api.client.put(
        "/api/v1/flags/new_flow/bucket_key",
        json={"bucket_key": "", "why": "x"},
        headers=api.headers("engineer"),
    )
    assert (refused.status_code, refused.json()["code"]) == (422, "invalid_identifier")
