"""Rack's query strings, as Flipper's API sees them.

Flipper::Api runs on Rack 2.2: its params come from Rack's parsers, and its
JsonParams middleware merges a JSON body into the query string through Rack's
`parse_query` and `build_query` before the action reads `request.params`. Each
function here is the Rack function of the same name; tests compare them with
Debian's ruby-rack. One deviation: a JSON object where a param is expected is left
out (Rack would turn it into its Ruby `inspect` text, which no handler can use).
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Iterator, Mapping

from flagramp.core.flags.ruby import ruby_to_s
from flagramp.core.types import Json


class Nested:
    """A param Rack parses into a Hash (`a[b]=1`) or a list of hashes or lists
    (`a[][]=`): present, but neither a string nor a list of strings."""

    def __repr__(self) -> str:
        return "Nested()"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Nested)

    def __hash__(self) -> int:
        return hash(Nested)


#: What one param holds after Rack's nested parse: a string, nil (`?flag` with no
#: `=`), a list (`k[]=a&k[]=b`), or a Hash.
ParamValue = str | None | list[str | None] | Nested


class RackParseError(ValueError):
    """Rack could not parse the query: a bad %-escape, bytes that are not UTF-8,
    or a param used both as a string and as a list."""


_SEPARATOR = re.compile(r"[&;] *")
_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")
_NAME = re.compile(r"\A[\[\]]*([^\[\]]+)\]*")


def unescape(text: str) -> str:
    """`Rack::Utils.unescape`: `+` is a space and `%XX` a byte, read as UTF-8.

    `text` is raw request text: bytes as sent, read as Latin-1 (so that a client
    sending unescaped UTF-8 is read right). Raises RackParseError where Ruby raises
    (a `%` not followed by two hex digits) and where Rack would hand the app a
    string that is not valid UTF-8.
    """
    if _BAD_ESCAPE.search(text):
        raise RackParseError(f"invalid %-encoding in {text!r}")
    try:
        sent = text.encode("latin-1")
    except UnicodeEncodeError:  # not raw bytes: already text
        sent = text.encode("utf-8")
    raw = urllib.parse.unquote_to_bytes(sent.replace(b"+", b" "))
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise RackParseError(f"{text!r} is not UTF-8 once decoded") from exc


def escape(text: str) -> str:
    """`Rack::Utils.escape` (a space becomes `+`); decodes back to the same text."""
    return urllib.parse.quote_plus(text, safe="*")


def split_commas(text: str) -> list[str]:
    """Ruby's `text.split(",")`: trailing empty pieces are dropped."""
    pieces = text.split(",")
    while pieces and not pieces[-1]:
        pieces.pop()
    return pieces


def pairs(query: str) -> Iterator[tuple[str, str | None]]:
    """The `key=value` pairs of a query, decoded; a part without `=` has value None."""
    for part in _SEPARATOR.split(query):
        if not part:
            continue
        key, eq, value = part.partition("=")
        yield unescape(key), (unescape(value) if eq else None)


def raw_values(query: str, name: str) -> list[str]:
    """The still-escaped values of every `name=` in the query, in order; raises
    RackParseError if any key, or one of these values, does not decode."""
    found = []
    for part in re.split(r"[&;]", query):
        key, _, value = part.partition("=")
        if part and unescape(key) == name:
            unescape(value)
            found.append(value)
    return found


def parse_query(query: str) -> dict[str, str | list[str | None] | None]:
    """`Rack::Utils.parse_query`: flat; a repeated key collects its values in a list."""
    params: dict[str, str | list[str | None] | None] = {}
    for key, value in pairs(query):
        current = params.get(key)
        if current is None:  # Ruby's `if cur = params[k]`: nil counts as absent
            params[key] = value
            continue
        if isinstance(current, list):
            current.append(value)
        else:
            params[key] = [current, value]
    return params


def parse_nested_query(query: str) -> dict[str, ParamValue]:
    """`Rack::Utils.parse_nested_query`: `k=v` (the last wins), `k[]=v` (a list),
    `k[x]=v` (a Hash, given back as `Nested`, since no action reads inside one)."""
    params: dict[str, object] = {}
    for name, value in pairs(query):
        _normalize(params, name, value, _DEPTH_LIMIT)
    return {key: _outer(value) for key, value in params.items()}


_DEPTH_LIMIT = 100  # Rack's param_depth_limit
_LIST_OF_HASHES = (re.compile(r"^\[\]\[([^\[\]]+)\]$"), re.compile(r"^\[\](.+)$"))


def _normalize(
    params: dict[str, object], name: str, value: str | None, depth: int
) -> object:
    """Rack 2.2's `normalize_params`, line for line; returns what Rack returns."""
    if depth <= 0:
        raise RackParseError("params are nested too deeply")
    match = _NAME.match(name)
    key = match.group(1) if match else ""
    after = name[match.end() :] if match else ""
    if not key:
        return [value] if value is not None and name == "[]" else None
    if after == "":
        params[key] = value
    elif after == "[":
        params[name] = value
    elif after == "[]":
        items = _list_at(params, key)
        items.append(value)
    elif found := (_LIST_OF_HASHES[0].match(after) or _LIST_OF_HASHES[1].match(after)):
        child = found.group(1)
        items = _list_at(params, key)
        last = items[-1] if items else None
        if isinstance(last, dict) and not _has_key(last, child):
            _normalize(last, child, value, depth - 1)
        else:
            items.append(_normalize({}, child, value, depth - 1))
    else:
        if params.get(key) is None:
            params[key] = {}
        inner = params[key]
        if not isinstance(inner, dict):
            raise RackParseError(f"param {key!r} is both a hash and a string or list")
        params[key] = _normalize(inner, after, value, depth - 1)
    return params


def _list_at(params: dict[str, object], key: str) -> list[object]:
    if params.get(key) is None:  # Ruby's `params[k] ||= []`
        params[key] = []
    items = params[key]
    if not isinstance(items, list):
        raise RackParseError(f"param {key!r} is both a list and a string or hash")
    return items


def _has_key(params: dict[str, object], key: str) -> bool:
    if "[]" in key:
        return False
    current: object = params
    for part in re.split(r"[\[\]]+", key):
        if not part:
            continue
        if not isinstance(current, dict) or part not in current:
            return False
        current = current[part]
    return True


def _outer(value: object) -> ParamValue:
    if isinstance(value, dict):
        return Nested()
    if isinstance(value, list):
        if any(not (item is None or isinstance(item, str)) for item in value):
            return Nested()
        return [item for item in value if item is None or isinstance(item, str)]
    assert value is None or isinstance(value, str)
    return value


def build_query(params: Mapping[str, Json]) -> str:
    """`Rack::Utils.build_query` of parsed JSON: values are written with Ruby's
    `to_s` (`12.5`, `true`), nil as a bare key, arrays as repeated keys."""
    return "&".join(_build(key, value) for key, value in params.items())


def merge_json(query: str, body: Mapping[str, Json]) -> str:
    """Flipper's JsonParams: the body's top-level keys replace or join the query's,
    and the whole is written back as a query string."""
    merged: dict[str, Json] = dict(parse_query(query))  # type: ignore[arg-type]
    merged.update(body)
    return build_query(merged)


def _build(key: str, value: Json) -> str:
    if isinstance(value, list):
        return "&".join(_build(key, item) for item in value)
    if value is None:
        return escape(key)
    if isinstance(value, dict):
        return ""  # see the module docstring: left out
    return f"{escape(key)}={escape(ruby_to_s(value))}"
