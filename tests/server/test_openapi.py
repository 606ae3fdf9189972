"""The OpenAPI document says what the server answers: problems as
`application/problem+json`, and the bearer token on every route that needs one."""

from __future__ import annotations

from flagramp.server.matrix import route_table
from flagramp.server.openapi import PROBLEM_REF, SECURITY_SCHEME, document_path
from tests.server.conftest import Api


def test_every_error_answer_is_documented_as_a_problem(api: Api) -> None:
    document = api.client.get("/api/v1/openapi.json").json()
    seen = 0
    for operations in document["paths"].values():
        for operation in operations.values():
            for status, answer in operation["responses"].items():
                if status[0] in "45":
                    assert answer["content"] == {
                        "application/problem+json": {"schema": {"$ref": PROBLEM_REF}}
                    }
                    seen += 1
    assert seen > 100
    schemas = document["components"]["schemas"]
    assert "HTTPValidationError" not in schemas
    assert set(schemas["Problem"]["required"]) >= {"type", "status", "code"}


def test_every_route_but_the_open_ones_names_the_bearer_scheme(api: Api) -> None:
    document = api.client.get("/api/v1/openapi.json").json()
    scheme = document["components"]["securitySchemes"][SECURITY_SCHEME]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")
    for rule in route_table():
        operation = document["paths"][document_path(rule.path)][rule.method.lower()]
        expected: list[dict[str, list[str]]] | None = (
            None if rule.access is None else [{SECURITY_SCHEME: []}]
        )
        assert operation.get("security") == expected, (rule.method, rule.path)
