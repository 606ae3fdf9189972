"""schemathesis against the app's own OpenAPI document, in process.

Every route of the route table (`server.matrix.route_table`, so a new route
joins by existing) is fuzzed with valid and with invalid data, as an admin: no
answer is a 5xx, and every answer has a status, a media type and a body that
the document declares for it. The stream is left out here only because an SSE
answer never ends in process; tests/server/streaming covers it on a real
server.
"""

from __future__ import annotations

import os
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import Case, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from flagramp.core.clock import VirtualClock
from flagramp.server.app import create_app
from flagramp.server.matrix import route_table
from flagramp.server.openapi import document_path
from flagramp.server.settings import ServerSettings
from tests.server.conftest import Api, Template, copy_store

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
#: Examples per route and mode; the whole module stays well under a minute.
#: `FLAGRAMP_FUZZ_EXAMPLES=500 FLAGRAMP_FUZZ_RANDOM=1` digs deeper by hand; the
#: suite draws the same cases every run, so that it never flakes.
EXAMPLES = int(os.environ.get("FLAGRAMP_FUZZ_EXAMPLES", "4"))
RANDOM = os.environ.get("FLAGRAMP_FUZZ_RANDOM", "") not in ("", "0")
#: Routes whose answer never ends in process.
ENDLESS = {"/api/v1/stream"}
FUZZED = [
    pytest.param(rule.method, rule.path, id=f"{rule.method} {rule.path}")
    for rule in route_table()
    if rule.path not in ENDLESS
]


@pytest.fixture(scope="module")
def openapi(
    server_template: Template, tmp_path_factory: pytest.TempPathFactory
) -> schemathesis.BaseSchema:
    """One app and store for the module: what one route's cases write, the
    next route's cases meet."""
    store = copy_store(server_template.path, tmp_path_factory.mktemp("fuzz"))
    app = create_app(
        ServerSettings(auth_failures=1_000_000), store=store, clock=VirtualClock()
    )
    return schemathesis.openapi.from_asgi("/api/v1/openapi.json", app)


def test_the_document_lists_exactly_the_route_table(
    openapi: schemathesis.BaseSchema,
) -> None:
    documented = {
        (method.upper(), path)
        for path, operations in openapi.raw_schema["paths"].items()
        for method in operations
    }
    routes = {(r.method, document_path(r.path)) for r in route_table()}
    assert documented == routes


@pytest.mark.parametrize(("method", "path"), FUZZED)
def test_no_route_answers_5xx_or_off_its_document(
    openapi: schemathesis.BaseSchema,
    server_template: Template,
    method: str,
    path: str,
) -> None:
    operation = openapi[document_path(path)][method]
    cases = st.one_of(
        operation.as_strategy(GenerationMode.POSITIVE),
        operation.as_strategy(GenerationMode.NEGATIVE),
    )
    admin = {"authorization": f"Bearer {server_template.tokens['admin']}"}

    @given(case=cases)
    @settings(
        max_examples=2 * EXAMPLES,
        deadline=None,
        database=None,
        derandomize=not RANDOM,
        suppress_health_check=list(HealthCheck),
    )
    def fuzz(case: Case[Any]) -> None:
        case.call_and_validate(headers=admin, checks=CHECKS)

    fuzz()


@pytest.mark.parametrize(
    "path",
    [
        f"/api/v1/audit?after_version={2**64}",
        f"/api/v1/plans/p?revision={2**64}",
        "/api/v1/audit?after_version=-1",
    ],
)
def test_an_integer_beyond_the_stores_is_refused_not_a_500(api: Api, path: str) -> None:
    # Found by the fuzzer: SQLite cannot bind an int past 64 bits (500).
    answer = api.client.get(path, headers=api.headers("admin"))
    assert (answer.status_code, answer.json()["code"]) == (422, "invalid_request")
