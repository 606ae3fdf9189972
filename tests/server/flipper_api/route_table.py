"""The route tables' shared parts: the case shape, the flags cases start from, and
the check every case runs.

Each case is one request as Flipper's HTTP adapter would send it (its headers,
main's escaping), the whole JSON answer expected, and what the store must hold
afterwards. Answers come from the reference's recordings and rules; where Flipper
would raise (and its host app answer 500) flagramp's own codes are expected.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flagramp.core.flags import Flag, Percentage
from flagramp.core.types import Json
from flagramp.store import FlagStore
from tests.server.flipper_api.adapter_client import FlipperHttpClient
from tests.server.flipper_api.conftest import SETUP
from tests.server.flipper_api.expected import feature

PLAN_IS_BASIC: dict[str, Json] = {"Equal": [{"Property": ["plan"]}, "basic"]}
SEARCH = Flag(
    "search",
    expression=PLAN_IS_BASIC,
    actors=("User;1",),
    percentage_of_actors=Percentage.from_flipper("12.5"),
    percentage_of_time=Percentage.from_flipper("10"),
    groups=("admins",),
)
ON = Flag("on", boolean=True)
A = Flag("a", actors=("User;9",))
B = Flag("b")
COMMA = Flag("a,b", boolean=True)
ABSENT = None


def pct(text: str) -> Percentage:
    return Percentage.from_flipper(text)


@dataclass(frozen=True)
class Case:
    method: str
    path: str
    body: Json | bytes | None = None
    status: int = 200
    answer: Json = None
    given: tuple[Flag, ...] = ()
    stored: dict[str, Flag | None] = field(default_factory=dict)
    content_type: str | None = "application/json"


def off(key: str, **gates: object) -> dict[str, Json]:
    return feature(key, **gates)  # type: ignore[arg-type]


#: Percentages as sent (a string from Flipper's adapter, a number from others),
#: the text Flipper stores (Ruby's `to_s` of `Typecast.to_number`), the state.
PERCENTAGES_ACCEPTED: list[tuple[str, Json, str, str]] = [
    ("string-25", "25", "25", "conditional"),
    ("string-12.5", "12.5", "12.5", "conditional"),
    ("string-25.0-keeps-its-text", "25.0", "25.0", "conditional"),
    ("number-12.5", 12.5, "12.5", "conditional"),
    ("number-25", 25, "25", "conditional"),
    ("number-1e2-is-100.0", 1e2, "100.0", "conditional"),
    ("string-1e2-is-1", "1e2", "1", "conditional"),
    ("string-25abc-is-25", "25abc", "25", "conditional"),
    ("string-0x10-is-0", "0x10", "0", "off"),
    ("leading-space", " 7", "7", "conditional"),
    ("three-decimals", "99.999", "99.999", "conditional"),
    ("four-decimals-as-ruby", "12.3456", "12.3456", "conditional"),
    ("zero-disables", "0", "0", "off"),
    ("hundred", "100", "100", "conditional"),
]
PERCENTAGES_REFUSED: list[tuple[str, Json]] = [
    ("abc", {"percentage": "abc"}),
    ("101", {"percentage": "101"}),
    ("minus-1", {"percentage": "-1"}),
    ("100.5", {"percentage": 100.5}),
    ("empty", {"percentage": ""}),
    ("missing", {}),
    ("null", {"percentage": None}),
]

METHOD_NOT_ALLOWED: Json = {"code": "method_not_allowed"}  # compared on the code alone
INVALID_REQUEST: Json = {"code": "invalid_request"}
NAME_TOO_LONG: Json = {"code": "name_too_long"}


def check(case: Case, client: FlipperHttpClient, store: FlagStore) -> None:
    """Send the case's request on a store holding `given`; check answer and store."""
    for flag in case.given:
        store.create_flag(flag, SETUP)
    headers = {} if case.content_type is None else {"content-type": case.content_type}
    response = client.request(case.method, case.path, case.body, headers=headers)

    assert response.status_code == case.status, response.text
    assert response.headers["content-type"] == "application/json"
    if case.status == 204:
        assert response.content == b""
    elif isinstance(case.answer, dict) and set(case.answer) == {"code"}:
        document = response.json()
        assert document["code"] == case.answer["code"]
        assert set(document) == {"code", "message", "more_info"}
    elif case.answer is not None:
        assert response.json() == case.answer
    for key, expected in case.stored.items():
        assert store.get_flag(key) == expected
