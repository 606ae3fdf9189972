"""flagramp's Rack functions against Rack 2.2 itself (Debian's ruby-rack).

How a query string and a JSON body become the params Flipper's actions read is
Rack's business (plus Flipper's JsonParams): these tests send the same inputs to
Ruby and compare, for a table of known tricks and for generated ones.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flagramp.server.flipper_api.errors import FlipperApiError
from flagramp.server.flipper_api.params import read_params
from flagramp.server.flipper_api.rack import Nested, RackParseError, unescape
from tests.compat.ruby_peer import RubyPeer
from tests.server.flipper_api.ruby_processes import start_ruby


@pytest.fixture(scope="module")
def rack() -> Iterator[RubyPeer]:
    yield from start_ruby(
        "rack_peer.rb", ["rack", "json"], "Ruby's Rack (Debian package ruby-rack)"
    )


def python_params(
    query: str, content_type: str | None, method: str, body: str
) -> dict[str, Any]:
    try:
        parsed = read_params(query, content_type, method, body.encode())
    except FlipperApiError:
        return {"failed": True}
    values = {
        k: "__nested__" if isinstance(v, Nested) else v
        for k, v in parsed.params.values.items()
    }
    return {"params": values, "query": parsed.params.query}


def ruby_params(
    rack: RubyPeer, query: str, content_type: str | None, method: str, body: str
) -> dict[str, Any]:
    reply = rack.call(
        "params", query=query, content_type=content_type, method=method, body=body
    )
    return {"failed": True} if "failed" in reply else reply


JSON = "application/json"
FORM = "application/x-www-form-urlencoded"

TABLE: dict[str, tuple[str, str | None, str, str]] = {
    "plain": ("a=1&b=2", None, "GET", ""),
    "last-wins": ("a=1&a=2", None, "GET", ""),
    # Found by the generated test: Rack makes [[""]], a list of lists.
    "list-of-lists": ("a[][]=", None, "GET", ""),
    "list": ("k[]=a&k[]=b&k[]", None, "GET", ""),
    "bare-key-is-nil": ("flag&x=", None, "GET", ""),
    "semicolons-and-spaces": ("a=1; b=2;c=3", None, "GET", ""),
    "plus-is-space": ("a=x+y&b=%2B", None, "GET", ""),
    "nested-hash": ("a[b]=1&a[c]=2", None, "GET", ""),
    "nil-then-list": ("k&k[]=1", None, "GET", ""),
    "list-then-string": ("k[]=1&k=2", None, "GET", ""),
    "string-then-list": ("k=1&k[]=2", None, "GET", ""),
    "bad-escape": ("a=%zz", None, "GET", ""),
    "not-utf8": ("a=%FF", None, "GET", ""),
    "json-merged": ("a=1", JSON, "POST", '{"b":"2","a":"body"}'),
    "json-numbers": ("", JSON, "POST", '{"p":12.5,"q":25,"r":1e2,"t":true,"n":null}'),
    "json-lists": ("", JSON, "POST", '{"l":["a","b"],"e":[],"m":["x",null]}'),
    "json-keeps-query-lists": ("k[]=a", JSON, "POST", '{"x":"1"}'),
    "json-unicode": ("", JSON, "POST", '{"name":"José 名前"}'),
    "json-with-charset-is-not-merged": (
        "",
        f"{JSON}; charset=utf-8",
        "POST",
        '{"a":"1"}',
    ),
    "json-invalid": ("", JSON, "POST", "{nope"),
    "json-not-an-object": ("", JSON, "POST", "[1]"),
    "json-empty-body-ignored": ("a=1", JSON, "POST", ""),
    "form-body": ("a=1", FORM, "POST", "b=2&a=3"),
    "form-without-content-type": ("", None, "POST", "flipper_id=User%3B1"),
    "delete-with-form-body": ("", FORM, "DELETE", "name=admins"),
}


@pytest.mark.parametrize("case", TABLE.values(), ids=list(TABLE))
def test_params_as_rack_makes_them(
    case: tuple[str, str | None, str, str], rack: RubyPeer
) -> None:
    assert python_params(*case) == ruby_params(rack, *case)


@pytest.mark.parametrize(
    "text", ["a+b", "100%", "%2F", "%C3%A9", "%FF", "%e2%82%ac", "a%2", "%%", ""]
)
def test_unescape_as_rack(text: str, rack: RubyPeer) -> None:
    (expected,) = rack.call("unescape", inputs=[text])["results"]
    try:
        assert {"ok": unescape(text)} == expected
    except RackParseError:
        assert "error" in expected


_TOKENS = [
    "a",
    "b",
    "k",
    "=",
    "&",
    ";",
    " ",
    "[",
    "]",
    "[]",
    "%",
    "%2",
    "%2C",
    "%2F",
    "%3B",
    "+",
    ",",
    "%C3%A9",
    "1",
    "",
]
queries = st.lists(st.sampled_from(_TOKENS), max_size=12).map("".join)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 200),
    st.sampled_from([12.5, 25.0, 1e2, 0.1, 1e20, -0.0]),
    st.text(alphabet="ab, +&=%é", max_size=5),
)
bodies = st.dictionaries(
    st.sampled_from(["a", "b", "k", "k[]", "name", "percentage"]),
    scalars | st.lists(scalars, max_size=3),
    max_size=4,
)


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(query=queries, body=bodies, as_json=st.booleans())
def test_generated_params_as_rack_makes_them(
    query: str, body: dict[str, Any], as_json: bool, rack: RubyPeer
) -> None:
    text = json.dumps(body, ensure_ascii=False) if as_json else ""
    case = (query, JSON if as_json else None, "POST" if as_json else "GET", text)
    assert python_params(*case) == ruby_params(rack, *case)
