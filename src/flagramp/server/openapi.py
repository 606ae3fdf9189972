"""The OpenAPI document as the server answers: problems and tokens included.

FastAPI's own document says that errors are `application/json` (and a 422 is
its `HTTPValidationError`), but every error flagramp answers is an
`application/problem+json` `Problem` (server.problems). It also knows nothing
of tokens. `install(app)` makes `app.openapi()` answer a corrected document:
every 4xx/5xx answer is a `Problem` in `application/problem+json`, the bearer
token is a security scheme, and each operation names it unless its route is
open (from the same `Access` rules as the permission matrix).
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from flagramp.server.matrix import route_table
from flagramp.server.problems import MEDIA_TYPE, Problem

SECURITY_SCHEME = "bearer"
PROBLEM_REF = "#/components/schemas/Problem"
#: FastAPI's own validation-error schemas, which no answer uses.
UNUSED_SCHEMAS = ("HTTPValidationError", "ValidationError")


def install(app: FastAPI) -> None:
    """Serve the corrected document at `app.openapi_url` (built once)."""

    def document() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = corrected(
                get_openapi(
                    title=app.title,
                    version=app.version,
                    description=app.description,
                    routes=app.routes,
                )
            )
        return app.openapi_schema

    app.openapi = document  # type: ignore[method-assign]


def document_path(path: str) -> str:
    """A route's path as OpenAPI writes it (`{key:path}` is `{key}`)."""
    return re.sub(r"{(\w+):\w+}", r"{\1}", path)


def corrected(document: dict[str, Any]) -> dict[str, Any]:
    """`document` with problem answers, the security scheme and each
    operation's security requirement."""
    open_routes = {
        (rule.method.lower(), document_path(rule.path))
        for rule in route_table()
        if rule.access is None
    }
    for path, operations in document.get("paths", {}).items():
        for method, operation in operations.items():
            for status, answer in operation.get("responses", {}).items():
                if str(status)[:1] in ("4", "5"):
                    answer["content"] = {MEDIA_TYPE: {"schema": {"$ref": PROBLEM_REF}}}
            if (method, path) not in open_routes:
                operation["security"] = [{SECURITY_SCHEME: []}]
    components = document.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    for name in UNUSED_SCHEMAS:
        schemas.pop(name, None)
    schemas["Problem"] = Problem.model_json_schema()
    components["securitySchemes"] = {
        SECURITY_SCHEME: {
            "type": "http",
            "scheme": "bearer",
            "description": "A flagramp token, `frp_<id>_<secret>`",
        }
    }
    return document
