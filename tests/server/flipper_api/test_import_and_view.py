"""`POST /import` as a full sync, flagramp's additions served as an expression, and
the same on PostgreSQL."""

from __future__ import annotations

import json

from flagramp.core.flags import Flag, Percentage
from flagramp.core.types import Json
from flagramp.server.flipper_api import flipper_api
from flagramp.store import FlagStore
from tests.server.flipper_api.adapter_client import FlipperHttpClient, asgi_sender
from tests.server.flipper_api.conftest import SEGMENTS, SETUP
from tests.server.flipper_api.expected import RECORDED_EXPORT, RECORDED_SEARCH

ORACLE_25 = Flag(
    "uae_oracle_routing",
    eligibility="oracle",
    percentage_of_actors=Percentage.from_flipper("25"),
    denied_actors=(),
    description="seed 003",
)
#: What a Ruby client is served for ORACLE_25 (the issue's expression, poa "0").
ORACLE_25_SERVED: dict[str, Json] = {
    "key": "uae_oracle_routing",
    "state": "conditional",
    "gates": [
        {"key": "boolean", "value": None},
        {
            "key": "expression",
            "value": {
                "All": [
                    {"Equal": [{"Property": ["ehr"]}, "oracle"]},
                    {"PercentageOfActors": [{"Property": ["flipper_id"]}, 25]},
                ]
            },
        },
        {"key": "actors", "value": []},
        {"key": "percentage_of_actors", "value": "0"},
        {"key": "percentage_of_time", "value": None},
        {"key": "groups", "value": []},
    ],
}


def test_the_recorded_export_imports_to_the_recorded_feature(
    client: FlipperHttpClient, store: FlagStore
) -> None:
    answer = client.request("POST", "/import", RECORDED_EXPORT.encode())
    assert (answer.status_code, answer.content) == (204, b"")
    assert client.get("search").text == RECORDED_SEARCH


def test_import_keeps_flagramps_own_rules(
    client: FlipperHttpClient, store: FlagStore
) -> None:
    kept = Flag("search", denied_actors=("bad",), description="Search v2")
    store.create_flag(kept, SETUP)
    client.import_document({"features": {"search": {"boolean": "true"}}})
    assert store.get_flag("search") == kept.with_changes(boolean=True)


def test_eligibility_is_served_as_one_expression(
    client: FlipperHttpClient, store: FlagStore
) -> None:
    store.create_flag(ORACLE_25, SETUP)
    assert client.get_all().json()["features"] == [ORACLE_25_SERVED]
    # The actor route answers as flagramp: no `ehr` property, so not eligible.
    actor = client.request("GET", "/actors/User;1").json()
    assert actor["features"] == {"uae_oracle_routing": {"enabled": False}}


def test_reimporting_what_was_served_changes_nothing(
    client: FlipperHttpClient, store: FlagStore
) -> None:
    store.create_flag(ORACLE_25, SETUP)
    store.create_flag(Flag("plain", actors=("User;1",)), SETUP)
    served = client.get_all().json()["features"]
    features: dict[str, Json] = {f["key"]: _gates(f) for f in served}
    document: Json = {"version": 1, "features": features}
    version = store.version()
    assert client.import_document(document).status_code == 204
    assert store.version() == version
    assert store.get_flag(ORACLE_25.key) == ORACLE_25


def test_a_gate_write_on_a_flag_with_additions_keeps_them(
    client: FlipperHttpClient, store: FlagStore
) -> None:
    store.create_flag(ORACLE_25, SETUP)
    answer = client.enable(ORACLE_25.key, "percentage_of_actors", "50")
    stored = store.get_flag(ORACLE_25.key)
    assert stored == ORACLE_25.with_changes(
        percentage_of_actors=Percentage.from_flipper("50")
    )
    expression = answer.json()["gates"][1]["value"]
    assert expression["All"][1] == {
        "PercentageOfActors": [{"Property": ["flipper_id"]}, 50]
    }


def test_on_postgresql_too(database_url: str) -> None:
    store = FlagStore.open(database_url)
    for segment in SEGMENTS:
        store.put_segment(segment, SETUP)
    client = FlipperHttpClient(asgi_sender(flipper_api(store)))
    assert client.add("search").status_code == 200
    assert client.enable("search", "groups", "admins").status_code == 200
    assert client.enable("search", "percentage_of_actors", "12.5").status_code == 200
    first = client.get_all()
    assert client.get_all().status_code == 304
    assert client.import_document(json.loads(RECORDED_EXPORT)).status_code == 204
    assert client.get("search").text == RECORDED_SEARCH
    assert client.get_all().headers["etag"] != first.headers["etag"]
    assert [e.actor for e in store.history("search")] == ["flipper-api"] * 4
    store.engine.dispose()


def _gates(feature: dict[str, Json]) -> dict[str, Json]:
    gates = feature["gates"]
    assert isinstance(gates, list)
    return {g["key"]: g["value"] for g in gates if isinstance(g, dict)}  # type: ignore[misc]
