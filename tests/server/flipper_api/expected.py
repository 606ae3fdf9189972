"""Flipper's answers, as recorded from the real `Flipper::Api` (Flipper main, Memory
adapter, Rack 2.2, through `Rack::MockRequest`), and builders for the rest.

The recorded texts are Ruby's `JSON.generate` output, compared byte for byte.
"""

from __future__ import annotations

from flagramp.core.types import Json

#: `GET /features/search` for a feature with every gate set (reference section (a)).
RECORDED_SEARCH = (
    '{"key":"search","state":"conditional","gates":['
    '{"key":"boolean","value":null,"name":"boolean"},'
    '{"key":"expression","value":{"Equal":[{"Property":["plan"]},"basic"]},'
    '"name":"expression"},'
    '{"key":"actors","value":["User;1"],"name":"actor"},'
    '{"key":"percentage_of_actors","value":"12.5","name":"percentage_of_actors"},'
    '{"key":"percentage_of_time","value":"10","name":"percentage_of_time"},'
    '{"key":"groups","value":["admins"],"name":"group"}]}'
)

#: The same feature as an export v1 document (reference section (c)).
RECORDED_EXPORT = (
    '{"version":1,"features":{"search":{"boolean":null,"groups":["admins"],'
    '"actors":["User;1"],"expression":{"Equal":[{"Property":["plan"]},"basic"]},'
    '"percentage_of_actors":"12.5","percentage_of_time":"10"}}}'
)

MORE_INFO = "https://flippercloud.io/docs/api#error-code-reference"

#: Flipper's error table (lib/flipper/api/error_response.rb): code → (status, message).
FLIPPER_ERRORS: dict[int, tuple[int, str]] = {
    1: (404, "Feature not found."),
    2: (404, "Group not registered."),
    3: (422, "Percentage must be a positive number less than or equal to 100."),
    4: (422, "Required parameter flipper_id is missing."),
    5: (422, "Required parameter name is missing."),
    6: (422, "Import invalid."),
    7: (422, "The provided expression was not valid."),
}

_GATES = (
    ("boolean", "boolean"),
    ("expression", "expression"),
    ("actors", "actor"),
    ("percentage_of_actors", "percentage_of_actors"),
    ("percentage_of_time", "percentage_of_time"),
    ("groups", "group"),
)


def error(code: int) -> dict[str, Json]:
    """Flipper's error body for `code`."""
    return {"code": code, "message": FLIPPER_ERRORS[code][1], "more_info": MORE_INFO}


def feature(
    key: str,
    state: str = "off",
    *,
    boolean: str | None = None,
    expression: Json = None,
    actors: tuple[str, ...] = (),
    percentage_of_actors: str | None = None,
    percentage_of_time: str | None = None,
    groups: tuple[str, ...] = (),
    names: bool = True,
    gates: bool = True,
) -> dict[str, Json]:
    """A feature as Flipper's decorator writes it, gates in Flipper's order."""
    values: dict[str, Json] = {
        "boolean": boolean,
        "expression": expression,
        "actors": list(actors),
        "percentage_of_actors": percentage_of_actors,
        "percentage_of_time": percentage_of_time,
        "groups": list(groups),
    }
    result: dict[str, Json] = {"key": key, "state": state}
    if gates:
        result["gates"] = [
            {"key": k, "value": values[k], **({"name": n} if names else {})}
            for k, n in _GATES
        ]
    return result
