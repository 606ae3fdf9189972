"""The plan's JSON Schema, for editors (yaml-language-server) and other tools."""

from __future__ import annotations

from pydantic.json_schema import JsonSchemaValue

from flagramp.core.plans.plan import Plan

#: Where `flagramp plan schema > plan.schema.json` is expected to be saved.
SCHEMA_ID = "https://flagramp.dev/schemas/plan.schema.json"


def plan_schema() -> JsonSchemaValue:
    """The JSON Schema (2020-12) every plan file satisfies, as a dict."""
    schema = Plan.model_json_schema(mode="validation")
    # Top-level `x-…` keys hold YAML anchors for the author; the loader skips them.
    schema["patternProperties"] = {"^x-": {}}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        **schema,
        "title": "flagramp release plan",
    }
