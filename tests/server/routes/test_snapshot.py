"""`GET /api/v1/environments/{env}/snapshot`: the documents, ETag and 304."""

from __future__ import annotations

from flagramp.core.flags import Flag, Segment
from flagramp.core.flags import operations as ops
from flagramp.store.documents import flag_document, segment_document
from tests.server.conftest import SETUP, Api

PATH = "/api/v1/environments/production/snapshot"


def test_snapshot_holds_the_documents_and_the_version_as_a_strong_etag(
    api: Api,
) -> None:
    segment = Segment.from_rules("oracle", ["ehr in [oracle]"])
    api.store.put_segment(segment, SETUP)
    flag = api.store.create_flag(Flag(key="new_flow", eligibility="oracle"), SETUP)
    answer = api.client.get(PATH, headers=api.headers("sdk"))
    assert answer.status_code == 200
    version = api.store.version()
    assert answer.headers["etag"] == f'"{version}"'
    assert answer.json() == {
        "environment": "production",
        "version": version,
        "flags": [flag_document(flag)],
        "segments": [segment_document(segment)],
    }


def test_same_etag_is_answered_304_until_the_store_changes(api: Api) -> None:
    api.store.create_flag(Flag(key="a"), SETUP)
    first = api.client.get(PATH, headers=api.headers("viewer"))
    etag = first.headers["etag"]
    again = api.client.get(
        PATH, headers={**api.headers("viewer"), "if-none-match": etag}
    )
    assert (again.status_code, again.content, again.headers["etag"]) == (304, b"", etag)
    api.store.change_flag("a", ops.enable, SETUP)
    changed = api.client.get(
        PATH, headers={**api.headers("viewer"), "if-none-match": etag}
    )
    assert changed.status_code == 200
    assert changed.headers["etag"] != etag
    assert changed.json()["flags"][0]["gates"]["boolean"] == "true"


def test_an_unknown_environment_is_404_and_another_sdk_environment_403(
    api: Api,
) -> None:
    missing = api.client.get(
        "/api/v1/environments/nowhere/snapshot", headers=api.headers("viewer")
    )
    assert (missing.status_code, missing.json()["code"]) == (404, "not_found")
    assert missing.headers["content-type"] == "application/problem+json"
    other = api.client.get(PATH, headers=api.headers("sdk_staging"))
    assert (other.status_code, other.json()["code"]) == (403, "wrong_environment")
