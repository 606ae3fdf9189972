"""Segments, environments, tokens, audit, plans and alerts over HTTP."""

from __future__ import annotations

from pathlib import Path

from flagramp.core.flags import Flag
from tests.server.conftest import SETUP, Api

EXAMPLES = Path(__file__).parents[3] / "examples"


def test_segments_are_put_read_and_refused_while_in_use(api: Api) -> None:
    put = api.client.put(
        "/api/v1/segments/oracle",
        json={"rules": ["ehr in [oracle]"]},
        headers=api.headers("engineer"),
    )
    assert put.json() == {
        "name": "oracle",
        "rules": ["ehr in [oracle]"],
        "description": "",
    }
    api.store.create_flag(Flag(key="f", eligibility="oracle"), SETUP)
    listed = api.client.get("/api/v1/segments", headers=api.headers("sdk")).json()
    assert [s["name"] for s in listed["segments"]] == ["oracle"]
    in_use = api.client.delete(
        "/api/v1/segments/oracle", headers=api.headers("operator")
    )
    assert (in_use.status_code, in_use.json()["code"]) == (409, "segment_in_use")
    bad = api.client.put(
        "/api/v1/segments/x",
        json={"rules": ["ehr ~~ 3"]},
        headers=api.headers("engineer"),
    )
    assert (bad.status_code, bad.json()["code"]) == (422, "invalid_segment")


def test_admins_issue_list_and_revoke_tokens_and_the_secret_is_shown_once(
    api: Api,
) -> None:
    issued = api.client.post(
        "/api/v1/tokens",
        json={
            "owner": "ci",
            "owner_kind": "service",
            "permission": "sdk",
            "environment": "staging",
        },
        headers=api.headers("admin"),
    )
    assert issued.status_code == 201, issued.text
    token = issued.json()["token"]
    me = api.client.get(
        "/api/v1/tokens/me", headers={"authorization": f"Bearer {token}"}
    )
    assert (me.json()["owner"], me.json()["environment"]) == ("ci", "staging")
    listed = api.client.get("/api/v1/tokens", headers=api.headers("admin")).text
    assert token.split("_")[2] not in listed
    revoked = api.client.delete(
        f"/api/v1/tokens/{issued.json()['id']}", headers=api.headers("admin")
    )
    assert revoked.json()["revoked_by"] == "admin@example.org"
    after = api.client.get(
        "/api/v1/tokens/me", headers={"authorization": f"Bearer {token}"}
    )
    assert after.status_code == 401
    sdk_without_env = api.client.post(
        "/api/v1/tokens",
        json={"owner": "x", "owner_kind": "service", "permission": "sdk"},
        headers=api.headers("admin"),
    )
    assert (sdk_without_env.status_code, sdk_without_env.json()["code"]) == (
        422,
        "invalid_token",
    )


def test_environments_are_listed_and_created_once(api: Api) -> None:
    made = api.client.post(
        "/api/v1/environments", json={"name": "qa"}, headers=api.headers("admin")
    )
    assert "qa" in made.json()["environments"]
    again = api.client.post(
        "/api/v1/environments", json={"name": "qa"}, headers=api.headers("admin")
    )
    assert (again.status_code, again.json()["code"]) == (409, "conflict")


def test_audit_pages_by_version_and_verifies(api: Api) -> None:
    start = api.store.version()
    api.store.create_flag(Flag(key="a"), SETUP)
    api.store.create_flag(Flag(key="b"), SETUP)
    first = api.client.get(
        "/api/v1/audit",
        params={"limit": 1, "after_version": start},
        headers=api.headers("viewer"),
    ).json()
    assert len(first["changes"]) == 1
    rest = api.client.get(
        "/api/v1/audit",
        params={"after_version": first["next"]},
        headers=api.headers("viewer"),
    ).json()
    keys = [c["key"] for c in first["changes"] + rest["changes"] if c["kind"] == "flag"]
    assert keys == ["a", "b"]
    verified = api.client.post("/api/v1/audit/verify", headers=api.headers("operator"))
    assert verified.json()["ok"] is True


def test_plans_validate_with_line_and_field_and_upload_exact_revisions(
    api: Api,
) -> None:
    text = (EXAMPLES / "uae-appointments-dark-deploy.yaml").read_text()
    yaml = {**api.headers("engineer"), "content-type": "application/yaml"}
    ok = api.client.post("/api/v1/plans/validate", content=text, headers=yaml)
    assert ok.json() == {"valid": True, "problems": []}
    broken = text.replace("phases:", "phasez:", 1)
    bad = api.client.post("/api/v1/plans/validate", content=broken, headers=yaml).json()
    assert bad["valid"] is False
    assert all(p["line"] >= 1 and p["file"] == "plan.yaml" for p in bad["problems"])
    uploaded = api.client.post("/api/v1/plans", content=text, headers=yaml)
    assert (uploaded.status_code, uploaded.json()["created"]) == (201, True)
    again = api.client.post("/api/v1/plans", content=text, headers=yaml)
    assert again.json()["created"] is False
    changed = api.client.post(
        "/api/v1/plans", content=text + "\n# edited\n", headers=yaml
    )
    assert (changed.status_code, changed.json()["code"]) == (409, "conflict")
    invalid = api.client.post("/api/v1/plans", content=broken, headers=yaml)
    assert (invalid.status_code, invalid.json()["code"]) == (422, "plan_invalid")
    assert invalid.json()["errors"]
    name = uploaded.json()["name"]
    stored = api.client.get(f"/api/v1/plans/{name}", headers=api.headers("viewer"))
    assert stored.json()["text"] == text


def test_alertmanager_and_datadog_alerts_are_parsed_and_recorded(api: Api) -> None:
    alertmanager = {
        "version": "4",
        "status": "firing",
        "receiver": "flagramp",
        "groupKey": '{}:{alertname="VaosErrors"}',
        "truncatedAlerts": 0,
        "groupLabels": {"alertname": "VaosErrors"},
        "commonLabels": {"alertname": "VaosErrors", "team": "vaos"},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager:9093",
        "alerts": [
            {
                "status": "firing",
                "labels": {"alertname": "VaosErrors", "team": "vaos"},
                "annotations": {"summary": "5xx over 5 %"},
                "startsAt": "2026-01-01T00:00:00.123456789Z",
                "endsAt": "0001-01-01T00:00:00Z",
                "generatorURL": "http://prometheus:9090/graph",
                "fingerprint": "1a30ba71cca2921f",
            }
        ],
    }
    got = api.client.post(
        "/api/v1/alerts/alertmanager",
        json=alertmanager,
        headers=api.headers("operator"),
    )
    assert got.status_code == 200, got.text
    alert = got.json()["alerts"][0]
    assert (alert["name"], alert["status"], alert["tags"]) == (
        "VaosErrors",
        "firing",
        ["alertname=VaosErrors", "team=vaos"],
    )
    datadog = {
        "alert_id": "1234",
        "alert_title": "[Triggered on {service:vaos}] VAOS error rate",
        "alert_transition": "Triggered",
        "tags": "service:vaos, env:production",
        "date": "1767225600000",
    }
    dd = api.client.post(
        "/api/v1/alerts/datadog", json=datadog, headers=api.headers("operator")
    ).json()["alerts"][0]
    assert (dd["name"], dd["status"], dd["tags"]) == (
        "VAOS error rate",
        "firing",
        ["service:vaos", "env:production"],
    )
    assert dd["at"].startswith("2026-01-01T00:00:00")
    recorded = [c for c in api.store.changes_since(0) if c.kind == "alert"]
    assert [c.key for c in recorded] == [
        "alertmanager:VaosErrors",
        "datadog:VAOS error rate",
    ]
    unknown = api.client.post(
        "/api/v1/alerts/datadog",
        json={**datadog, "alert_transition": "Exploded"},
        headers=api.headers("operator"),
    )
    assert (unknown.status_code, unknown.json()["code"]) == (422, "invalid_request")


def test_every_answer_has_security_headers_and_no_cors_by_default(api: Api) -> None:
    answer = api.client.get(
        "/api/v1/flags",
        headers={**api.headers("viewer"), "origin": "https://evil.example"},
    )
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers["x-frame-options"] == "DENY"
    assert "access-control-allow-origin" not in answer.headers


def test_the_openapi_document_lists_every_route_with_its_problems(api: Api) -> None:
    document = api.client.get("/api/v1/openapi.json").json()
    paths = document["paths"]
    assert "/api/v1/environments/{env}/snapshot" in paths
    for path, operations in paths.items():
        for method, operation in operations.items():
            if path in ("/healthz",):
                continue
            assert any(
                code.startswith(("4", "5")) for code in operation["responses"]
            ), f"{method} {path} documents no problem answer"
