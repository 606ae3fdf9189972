"""A request's params as Flipper's actions read them, JSON body included.

The body is JSON only when `Content-Type` is exactly `application/json` (Flipper's
JsonParams compares the whole header; `application/json; charset=utf-8` is not
merged). A form body (`application/x-www-form-urlencoded`, or a POST with no
Content-Type) is parsed as Rack's `Request#POST` does and wins over the query.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field

from flagramp.core.types import Json
from flagramp.server.flipper_api import rack
from flagramp.server.flipper_api.errors import INVALID_REQUEST, FlipperApiError
from flagramp.server.flipper_api.rack import ParamValue, RackParseError
from flagramp.server.surrogates import has_unpaired_surrogate, may_hold_surrogates

JSON_CONTENT_TYPE = "application/json"
FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"


@dataclass(frozen=True, slots=True)
class Params:
    """Parsed params, and the query string they came from (after the JSON merge),
    which Flipper reads again for `keys`."""

    values: dict[str, ParamValue] = field(default_factory=dict)
    query: str = ""

    def __contains__(self, name: str) -> bool:
        return name in self.values

    def get(self, name: str) -> ParamValue:
        return self.values.get(name)

    def string(self, name: str) -> str | None:
        """The param if it is a string (Flipper's `string_param`), else None."""
        value = self.values.get(name)
        return value if isinstance(value, str) else None

    def is_true(self, name: str) -> bool:
        """`string_param(name)&.downcase == "true"`."""
        value = self.string(name)
        return value is not None and value.lower() == "true"


@dataclass(frozen=True, slots=True)
class RequestBody:
    """The body as the actions see it: the params, and the parsed JSON body
    (Flipper's `env["parsed_request_body"]`, which the expression route reads)."""

    params: Params
    json: Json = None


def read_params(
    query: str,
    content_type: str | None,
    method: str,
    body: bytes,
    *,
    lenient: bool = False,
) -> RequestBody:
    """Merge the query and the body as Rack and JsonParams do.

    Raises FlipperApiError (invalid_request) where Ruby would raise: a bad
    %-escape, a JSON body that does not parse or is not an object, a param used as
    both a string and a list. With `lenient` (Flipper's `safe_params`, which its
    read actions use) params that cannot be parsed count as none instead; a bad
    JSON body still raises, since JsonParams runs before any action.
    """
    parsed_json: Json = None
    try:
        if content_type == JSON_CONTENT_TYPE and body:
            parsed_json = _json_object(body)
            query = rack.merge_json(query, parsed_json)
    except RackParseError as exc:
        raise FlipperApiError(INVALID_REQUEST, str(exc)) from exc
    try:
        values = rack.parse_nested_query(query)
        if _is_form(content_type, method) and body:
            values.update(rack.parse_nested_query(body.decode("latin-1")))
    except RackParseError as exc:
        if lenient:
            return RequestBody(Params(query=query), parsed_json)
        raise FlipperApiError(INVALID_REQUEST, str(exc)) from exc
    return RequestBody(Params(values, query), parsed_json)


def requested_feature_names(
    params: Params, exists: Callable[[str], bool]
) -> list[str] | None:
    """The names `GET /features` was asked for, or None for every feature.

    Flipper main: `keys[]=a&keys[]=b` as a list; `keys=a,b` as CSV, each piece
    decoded on its own, where a piece sent as one escaped value (`a%2Cb`) is one
    name if a feature by that exact name exists; `keys=` asks for none.
    """
    if "keys" not in params:
        return None
    keys = params.get("keys")
    if keys is None:
        return []
    if isinstance(keys, list):
        return [k or "" for k in keys]
    if not isinstance(keys, str):
        return None
    try:
        raw = rack.raw_values(params.query, "keys")
    except RackParseError:
        return None
    if not raw:
        return rack.split_commas(keys)  # from a form body, not the query
    names: list[str] = []
    for value in raw:
        if "," in value:
            names += [rack.unescape(piece) for piece in rack.split_commas(value)]
            continue
        decoded = rack.unescape(value)
        names += [decoded] if exists(decoded) else rack.split_commas(decoded)
    return names


def loads_json(body: bytes) -> Json:
    """JSON as Ruby's `JSON.parse` reads it (no NaN or Infinity), holding only
    text that UTF-8 can write; raises ValueError."""
    loaded: Json = json.loads(body, parse_constant=_no_constant)
    if may_hold_surrogates(body) and has_unpaired_surrogate(loaded):
        # `"\ud800"` is valid JSON but no text: nothing downstream (the params'
        # escaping, the store, the answer) could write it out again.
        raise ValueError("the JSON body holds an unpaired surrogate")
    return loaded


def _json_object(body: bytes) -> dict[str, Json]:
    try:
        parsed = loads_json(body)
    except UnicodeDecodeError as exc:
        raise FlipperApiError(INVALID_REQUEST, "the JSON body does not parse") from exc
    except ValueError as exc:
        raise FlipperApiError(
            INVALID_REQUEST, f"the JSON body does not parse: {exc}"
        ) from exc
    if not isinstance(parsed, dict):
        raise FlipperApiError(INVALID_REQUEST, "the JSON body is not an object")
    return parsed


def _no_constant(name: str) -> Json:
    raise ValueError(f"{name} is not JSON")  # Ruby's JSON.parse refuses NaN too


def _is_form(content_type: str | None, method: str) -> bool:
    media_type = (content_type or "").partition(";")[0].strip().lower()
    return media_type == FORM_CONTENT_TYPE or (method == "POST" and not media_type)
