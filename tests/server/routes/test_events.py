"""`POST /api/v1/events`: shapes, rejections, idempotency, routing to scopes."""

from __future__ import annotations

import asyncio
import gzip
import json
from typing import Any

import httpx
import pytest
from fastapi import APIRouter, Request, Response

from flagramp.core.metric_kinds import MetricKind
from flagramp.server.event_sinks import ScopeSink
from flagramp.server.routes.common import State
from flagramp.server.routes.events import ENVIRONMENT_QUERY_MAX, EventsRoute
from flagramp.stats.batch_ingest import BatchIngest, MetricSpec
from flagramp.store.tokens import OwnerKind, Permission, TokenStore
from tests.server.conftest import SETUP, Api

AT = "2026-01-01T00:00:00Z"  # the test clock's time


def exposure(actor: str, flag: str = "new_flow", **extra: Any) -> dict[str, Any]:
    return {
        "type": "exposure",
        "at": AT,
        "actor": actor,
        "flag": flag,
        "variant": "on",
        **extra,
    }


def test_good_events_are_accepted_and_bad_ones_rejected_with_reasons(api: Api) -> None:
    body = {
        "batch_key": "sdk-1-1",
        "events": [exposure("u1"), {"type": "request", "at": AT, "actor": "u1"}, 7],
    }
    answer = api.client.post("/api/v1/events", json=body, headers=api.headers("sdk"))
    assert answer.status_code == 200
    got = answer.json()
    assert (got["batch_key"], got["accepted"], got["duplicate"]) == (
        "sdk-1-1",
        1,
        False,
    )
    assert got["unwatched"] == 1
    assert [(r["index"], r["code"]) for r in got["rejected"]] == [
        (1, "bad_status"),
        (2, "not_an_object"),
    ]


def test_a_repeated_batch_key_is_a_duplicate_and_counts_nothing(api: Api) -> None:
    body = {"batch_key": "k", "events": [exposure("u1")]}
    first = api.client.post("/api/v1/events", json=body, headers=api.headers("sdk"))
    second = api.client.post("/api/v1/events", json=body, headers=api.headers("sdk"))
    assert first.json()["duplicate"] is False
    assert second.json() == {
        "batch_key": "k",
        "accepted": 0,
        "duplicate": True,
        "unwatched": 0,
        "rejected": [],
    }


@pytest.mark.parametrize("shape", ["array", "json_lines", "gzip"])
def test_arrays_json_lines_and_gzip_are_read(api: Api, shape: str) -> None:
    events = [exposure("u1"), exposure("u2")]
    headers = {**api.headers("sdk"), "idempotency-key": f"key-{shape}"}
    if shape == "array":
        answer = api.client.post("/api/v1/events", json=events, headers=headers)
    elif shape == "json_lines":
        text = "\n".join(json.dumps(e) for e in events) + "\n"
        headers["content-type"] = "application/x-ndjson"
        answer = api.client.post("/api/v1/events", content=text, headers=headers)
    else:
        headers |= {"content-type": "application/json", "content-encoding": "gzip"}
        body = gzip.compress(json.dumps({"events": events}).encode())
        answer = api.client.post("/api/v1/events", content=body, headers=headers)
    assert answer.status_code == 200, answer.text
    assert (answer.json()["batch_key"], answer.json()["accepted"]) == (
        f"key-{shape}",
        2,
    )


def test_an_exposure_for_another_environment_is_rejected(api: Api) -> None:
    body = {"events": [exposure("u1", environment="staging"), exposure("u2")]}
    answer = api.client.post("/api/v1/events", json=body, headers=api.headers("sdk"))
    got = answer.json()
    assert got["accepted"] == 1
    assert [(r["index"], r["code"]) for r in got["rejected"]] == [
        (0, "wrong_environment")
    ]


def test_another_environments_sdk_token_may_not_send_events(api: Api) -> None:
    body = {"environment": "production", "events": [exposure("u1")]}
    answer = api.client.post(
        "/api/v1/events", json=body, headers=api.headers("sdk_staging")
    )
    assert (answer.status_code, answer.json()["code"]) == (403, "wrong_environment")


@pytest.mark.parametrize(
    ("body", "headers", "status", "code"),
    [
        (b"not json", {"content-type": "application/json"}, 422, "invalid_request"),
        (
            b'{"events": 3}',
            {"content-type": "application/json"},
            422,
            "invalid_request",
        ),
        (
            b"[" * 100 + b"]" * 100,
            {"content-type": "application/json"},
            422,
            "invalid_request",
        ),
        (b"\x1f\x8b garbage", {"content-encoding": "gzip"}, 422, "invalid_request"),
        (b"[]", {"content-encoding": "br"}, 415, "unsupported_media_type"),
    ],
)
def test_unreadable_bodies_are_problems(
    api: Api, body: bytes, headers: dict[str, str], status: int, code: str
) -> None:
    answer = api.client.post(
        "/api/v1/events", content=body, headers={**api.headers("sdk"), **headers}
    )
    assert (answer.status_code, answer.json()["code"]) == (status, code)
    assert "Traceback" not in answer.text


def test_a_gzip_bomb_is_refused_past_the_body_limit(api: Api) -> None:
    bomb = gzip.compress(b"[" + b" " * (20 * 1024 * 1024) + b"]")
    answer = api.client.post(
        "/api/v1/events",
        content=bomb,
        headers={**api.headers("sdk"), "content-encoding": "gzip"},
    )
    assert (answer.status_code, answer.json()["code"]) == (413, "body_too_large")


def test_events_reach_a_watched_scope_once(api: Api) -> None:
    sink = api.app.state.flagramp.events
    assert isinstance(sink, ScopeSink)
    spec = MetricSpec("exposed", MetricKind.COUNT, ("new_flow_seen",))
    sink.watch(BatchIngest("run-1/p/s/1", "new_flow", [spec]))
    body = {"batch_key": "b", "events": [exposure("u1"), exposure("u2", flag="other")]}
    first = api.client.post("/api/v1/events", json=body, headers=api.headers("sdk"))
    again = api.client.post("/api/v1/events", json=body, headers=api.headers("sdk"))
    assert (first.json()["accepted"], first.json()["unwatched"]) == (2, 1)
    assert again.json()["duplicate"] is True
    state = sink.windows.scope_state("run-1/p/s/1", "new_flow")
    assert state is not None
    assert len(state.actors) == 1  # u1 only, once


def test_a_token_revoked_between_two_requests_is_refused_at_the_second(
    api: Api,
) -> None:
    issued = TokenStore(api.store).issue(
        owner="app-2",
        owner_kind=OwnerKind.SERVICE,
        permission=Permission.SDK,
        environment="production",
        author=SETUP,
    )
    headers = {"authorization": f"Bearer {issued.token}"}
    body = {"batch_key": "r1", "events": [exposure("u1")]}
    assert api.client.post("/api/v1/events", json=body, headers=headers).is_success
    TokenStore(api.store).revoke(issued.record.id, SETUP)
    body["batch_key"] = "r2"
    answer = api.client.post("/api/v1/events", json=body, headers=headers)
    assert (answer.status_code, answer.json()["code"]) == (401, "unauthorized")


def test_an_unknown_environment_is_not_found_and_keeps_no_key(api: Api) -> None:
    body = {"environment": "nowhere", "batch_key": "n", "events": [exposure("u1")]}
    answer = api.client.post(
        "/api/v1/events", json=body, headers=api.headers("engineer")
    )
    assert (answer.status_code, answer.json()["code"]) == (404, "not_found")
    body["environment"] = "production"
    again = api.client.post("/api/v1/events", json=body, headers=api.headers("sdk"))
    assert again.json()["duplicate"] is False


def test_one_batch_sent_four_times_at_once_counts_once(api: Api) -> None:
    sink = api.app.state.flagramp.events
    assert isinstance(sink, ScopeSink)
    spec = MetricSpec("exposed", MetricKind.COUNT, ("new_flow_seen",))
    sink.watch(BatchIngest("run-1/p/s/1", "new_flow", [spec]))
    body = {"batch_key": "same", "events": [exposure("u1"), exposure("u2")]}
    transport = httpx.ASGITransport(app=api.app)

    async def send_all() -> list[httpx.Response]:
        async with httpx.AsyncClient(
            transport=transport, base_url="http://flagramp.test"
        ) as client:
            sends = [
                client.post("/api/v1/events", json=body, headers=api.headers("sdk"))
                for _ in range(4)
            ]
            return list(await asyncio.gather(*sends))

    answers = asyncio.run(send_all())
    assert sorted(a.json()["duplicate"] for a in answers) == [False, True, True, True]
    state = sink.windows.scope_state("run-1/p/s/1", "new_flow")
    assert state is not None
    assert len(state.actors) == 2
    assert list(state.batch_keys) == ["same"]


def test_the_environment_query_names_the_batchs_environment(api: Api) -> None:
    body = [exposure("u1", environment="staging")]
    engineer = api.client.post(
        "/api/v1/events",
        params={"environment": "staging"},
        json=body,
        headers=api.headers("engineer"),
    )
    assert (engineer.status_code, engineer.json()["accepted"]) == (200, 1)
    # The production SDK token may not ask for staging, even in the query.
    sdk = api.client.post(
        "/api/v1/events",
        params={"environment": "staging"},
        json=body,
        headers=api.headers("sdk"),
    )
    assert (sdk.status_code, sdk.json()["code"]) == (403, "wrong_environment")


def test_an_overlong_environment_query_is_refused_as_its_declaration_says(
    api: Api,
) -> None:
    answer = api.client.post(
        "/api/v1/events",
        params={"environment": "e" * (ENVIRONMENT_QUERY_MAX + 1)},
        json=[exposure("u1")],
        headers=api.headers("engineer"),
    )
    assert answer.status_code == 422
    problem = answer.json()
    assert problem["code"] == "invalid_request"
    assert [(e["loc"], e["type"]) for e in problem["errors"]] == [
        ("query.environment", "string_too_long")
    ]
    # Exactly at the limit the name is read (and is no environment).
    at_limit = api.client.post(
        "/api/v1/events",
        params={"environment": "e" * ENVIRONMENT_QUERY_MAX},
        json=[exposure("u1")],
        headers=api.headers("engineer"),
    )
    assert (at_limit.status_code, at_limit.json()["code"]) == (404, "not_found")


def test_the_events_route_class_refuses_an_endpoint_it_would_call_wrongly() -> None:
    router = APIRouter(route_class=EventsRoute)

    async def other(request: Request, state: State, who: Any) -> Response:
        raise AssertionError("never called")

    with pytest.raises(TypeError, match="EventsRoute passes"):
        router.post("/events")(other)


def test_the_direct_events_route_answers_as_the_declared_one_would(api: Api) -> None:
    # POST is taken by the direct route at the top of the app's router; the
    # request counter still names the route's template, and other methods
    # still get the 405 problem.
    sent = api.client.post(
        "/api/v1/events", json=[exposure("u1")], headers=api.headers("sdk")
    )
    assert sent.status_code == 200
    assert sent.headers["x-content-type-options"] == "nosniff"
    wrong = api.client.get("/api/v1/events", headers=api.headers("sdk"))
    assert (wrong.status_code, wrong.json()["code"]) == (405, "method_not_allowed")
    metrics = api.client.get("/metrics", headers=api.headers("viewer")).text
    assert (
        'flagramp_http_requests_total{method="POST",route="/api/v1/events",'
        'status="200"} 1.0'
    ) in metrics
    unauthorized = api.client.post("/api/v1/events", json=[exposure("u1")])
    assert (unauthorized.status_code, unauthorized.json()["code"]) == (
        401,
        "unauthorized",
    )
