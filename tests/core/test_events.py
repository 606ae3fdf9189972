"""Raw events: bad ones rejected with reasons and counted, the rest kept."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flagramp.core.errors import EventError
from flagramp.core.event_parsing import content_key, parse_batch, parse_event
from flagramp.core.events import (
    EARLIEST,
    LATEST,
    BusinessEvent,
    DeviceClass,
    Exposure,
    RequestOutcome,
    Variant,
)

AT = "2026-11-23T10:00:30+00:00"
WHEN = dt.datetime(2026, 11, 23, 10, 0, 30, tzinfo=dt.UTC)


def request(**changes: object) -> dict[str, object]:
    raw: dict[str, object] = {
        "type": "request",
        "at": AT,
        "actor": "u1",
        "route": "/inbox",
        "status": 200,
        "latency_ms": 12.5,
    }
    raw.update(changes)
    return raw


def business(**changes: object) -> dict[str, object]:
    raw: dict[str, object] = {"type": "business", "at": AT, "actor": "u", "name": "n"}
    raw.update(changes)
    return raw


def exposure(**changes: object) -> dict[str, object]:
    raw: dict[str, object] = {
        "type": "exposure",
        "at": AT,
        "actor": "u",
        "flag": "f",
        "variant": "on",
    }
    raw.update(changes)
    return raw


def test_each_kind_of_event_parses_to_its_value() -> None:
    exposure = parse_event(
        {"type": "exposure", "at": AT, "actor": "u1", "flag": "f", "variant": "on"}
    )
    assert exposure == Exposure(WHEN, "u1", "f", Variant.ON)
    outcome = parse_event(request(status=503, error="Timeout /inbox", device="mobile"))
    assert outcome == RequestOutcome(
        WHEN, "u1", "/inbox", 503, 12.5, DeviceClass.MOBILE, "Timeout /inbox"
    )
    assert isinstance(outcome, RequestOutcome)
    assert outcome.is_failed
    assert outcome.failed_name == "request_failed"
    business = parse_event(
        {
            "type": "business",
            "at": WHEN.timestamp(),
            "actor": "u1",
            "name": "csat_response",
            "value": 4,
            "attributes": {"flow": "new", "page": 2},
        }
    )
    assert business == BusinessEvent(
        WHEN, "u1", "csat_response", 4.0, attributes=(("flow", "new"), ("page", 2))
    )


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("not a dict", "not_an_object"),
        ({"type": "click"}, "unknown_type"),
        (request(at=None), "bad_time"),
        (request(at="yesterday"), "bad_time"),
        (request(at="2026-11-23T10:00:00"), "bad_time"),
        (request(at=True), "bad_time"),
        (request(at=-5), "bad_time"),
        (request(actor=""), "missing_actor"),
        (request(actor=42), "missing_actor"),
        (request(actor="x" * 501), "long_actor"),
        (request(route=None), "missing_route"),
        (request(status="200"), "bad_status"),
        (request(status=700), "bad_status"),
        (request(status=True), "bad_status"),
        (request(latency_ms=-1), "bad_latency"),
        (request(latency_ms=float("nan")), "bad_latency_ms"),
        (request(latency_ms="fast"), "bad_latency_ms"),
        (request(device="watch"), "bad_device"),
        (request(name="has space"), "bad_name"),
        (request(error=""), "missing_error"),
        (
            {"type": "exposure", "at": AT, "actor": "u", "flag": "f", "variant": "x"},
            "bad_variant",
        ),
        (
            {
                "type": "exposure",
                "at": AT,
                "actor": "u",
                "flag": "f",
                "variant": "on",
                "allow_listed": "yes",
            },
            "bad_allow_listed",
        ),
        ({"type": "business", "at": AT, "actor": "u"}, "bad_name"),
        (
            {"type": "business", "at": AT, "actor": "u", "name": "n", "value": "4"},
            "bad_value",
        ),
        (
            {"type": "business", "at": AT, "actor": "u", "name": "n", "attributes": []},
            "bad_attributes",
        ),
        (
            {
                "type": "business",
                "at": AT,
                "actor": "u",
                "name": "n",
                "attributes": {"a": [1]},
            },
            "bad_attributes",
        ),
        # Numbers a JSON decoder produces that no float holds, or that would make a
        # window's sums or mean overflow.
        (request(latency_ms=10**400), "bad_latency_ms"),
        (request(latency_ms=1e308), "bad_latency_ms"),
        (request(latency_ms=float("inf")), "bad_latency_ms"),
        (request(latency_ms=86_400_001), "bad_latency_ms"),
        (request(latency_ms=True), "bad_latency_ms"),
        (business(value=False), "bad_value"),
        (request(status=10**400), "bad_status"),
        (request(at=10**400), "bad_time"),
        (request(at=1e308), "bad_time"),
        (request(at=float("nan")), "bad_time"),
        (request(at=7_258_118_400), "bad_time"),  # 2200-01-01
        (business(value=10**400), "bad_value"),
        (business(value=1e308), "bad_value"),
        (business(value=-1e10), "bad_value"),
        (business(value=float("nan")), "bad_value"),
        (business(attributes={"a": 10**400}), "bad_attributes"),
        (business(attributes={"a": 1e308}), "bad_attributes"),
        (business(attributes={"a": float("-inf")}), "bad_attributes"),
        (business(attributes={"a": "\ud800"}), "bad_attributes"),
        (business(attributes={"a\n": 1}), "bad_attributes"),
        # Text that does not encode as UTF-8, or that moves a terminal.
        (request(actor="\ud800"), "bad_actor"),
        (request(actor="u\udfff1"), "bad_actor"),
        (request(route="/x\udc80"), "bad_route"),
        (request(error="Boom \ud83d"), "bad_error"),
        (exposure(flag="f\ud800"), "bad_flag"),
        (exposure(environment="prod\udfff"), "bad_environment"),
        (request(actor="u\x00"), "bad_actor"),
        (request(actor="u\x1b[31m"), "bad_actor"),
        (request(route="/x\n"), "bad_route"),
        (request(route="/x\u202e"), "bad_route"),
        (request(error="E\x9b"), "bad_error"),
        (request(name="sm_request\n"), "bad_name"),
        (request(error="(other fingerprints)"), "bad_error"),
        # Times at the edge of the calendar: no UTC time exists for them.
        (request(at="0001-01-01T00:00:00+01:00"), "bad_time"),
        (request(at="9999-12-31T23:59:59-01:00"), "bad_time"),
        (request(at="0001-01-01T00:00:00+00:00"), "bad_time"),
        (request(at="2200-01-01T00:00:00+00:00"), "bad_time"),
        (request(at="1969-12-31T23:59:59+00:00"), "bad_time"),
        (request(at="2026-11-23T10:00:30\ud800"), "bad_time"),
    ],
)
def test_a_bad_event_is_rejected_with_its_reason(raw: object, code: str) -> None:
    parsed = parse_batch([request(), raw, request(actor="u2")], key="b1")
    assert [r.index for r in parsed.rejected] == [1]
    assert parsed.rejected[0].code == code
    assert parsed.rejected[0].reason
    assert parsed.accepted == 2
    assert [e.actor for e in parsed.batch.events] == ["u1", "u2"]


def test_rejections_are_counted_per_reason() -> None:
    parsed = parse_batch(
        [request(status=0), request(), request(status=1000), request(actor="")],
        key="b",
    )
    assert parsed.rejected_counts() == {"bad_status": 2, "missing_actor": 1}
    assert parsed.accepted == 1


def test_events_from_the_future_are_rejected_when_the_receiver_says_when() -> None:
    late = (WHEN + dt.timedelta(minutes=10)).isoformat()
    parsed = parse_batch([request(at=late), request()], key="b", received_at=WHEN)
    assert [r.code for r in parsed.rejected] == ["future"]
    assert parse_batch([request(at=late)], key="b").accepted == 1


@pytest.mark.parametrize(
    ("age", "max_age", "code"),
    [
        (dt.timedelta(minutes=59), dt.timedelta(hours=1), None),
        (dt.timedelta(minutes=61), dt.timedelta(hours=1), "too_old"),
        (dt.timedelta(days=400_000 // 1440), dt.timedelta(hours=1), "too_old"),
        (dt.timedelta(minutes=61), dt.timedelta(hours=2), None),
        (dt.timedelta(minutes=-4), dt.timedelta(hours=1), None),
        (dt.timedelta(minutes=-6), dt.timedelta(hours=1), "future"),
    ],
)
def test_events_outside_the_window_around_the_receivers_clock_are_rejected(
    age: dt.timedelta, max_age: dt.timedelta, code: str | None
) -> None:
    raw = request(at=(WHEN - age).isoformat())
    parsed = parse_batch([raw], key="b", received_at=WHEN, max_age=max_age)
    assert [r.code for r in parsed.rejected] == ([code] if code else [])
    if code == "too_old":
        assert "before the receiver's clock" in parsed.rejected[0].reason


def test_the_edges_of_the_accepted_range_are_kept() -> None:
    low = parse_event(request(at=0))
    high = parse_event(request(at="2199-12-31T23:59:59.999999+00:00"))
    assert low.at == EARLIEST
    assert high.at < LATEST
    assert parse_event(request(latency_ms=86_400_000)).at == WHEN
    edge = parse_event(business(value=-1e9, attributes={"a": 10**9}))
    assert isinstance(edge, BusinessEvent)
    assert (edge.value, edge.attributes) == (-1e9, (("a", 10**9),))


_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**400), max_value=10**400)
    | st.floats()
    | st.text(st.characters(codec=None, exclude_categories=()), max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=8,
)
_field_values = {
    "type": st.sampled_from(["exposure", "request", "business"]) | _json,
    "at": st.sampled_from([AT, 0, 1.5e9, "0001-01-01T00:00:00+01:00"]) | _json,
    "actor": st.sampled_from(["u1", "\ud800", "x" * 600]) | _json,
    "route": _json,
    "status": st.integers(0, 700) | _json,
    "latency_ms": _json,
    "flag": _json,
    "variant": st.sampled_from(["on", "off"]) | _json,
    "error": _json,
    "name": _json,
    "value": _json,
    "attributes": st.dictionaries(st.text(max_size=4), _json, max_size=3) | _json,
    "device": _json,
    "environment": _json,
    "allow_listed": _json,
}
_raw_events = st.fixed_dictionaries(
    {}, optional={k: v for k, v in _field_values.items()}
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_raw_events | _json, max_size=6))
def test_no_raw_event_fails_the_batch_and_what_is_accepted_is_sound(
    raw_events: list[object],
) -> None:
    parsed = parse_batch([request(), *raw_events], key="b", received_at=WHEN)
    assert parsed.accepted + len(parsed.rejected) == len(raw_events) + 1
    assert all(r.code and r.reason for r in parsed.rejected)
    for event in parsed.batch.events:
        assert EARLIEST <= event.at < LATEST
        assert event.actor.encode()
        if isinstance(event, RequestOutcome):
            assert 0 <= event.latency_ms <= 86_400_000
            assert event.route.encode()
        if isinstance(event, BusinessEvent):
            assert event.value is None or abs(event.value) <= 1e9
            for _, item in event.attributes:
                if isinstance(item, int | float) and not isinstance(item, bool):
                    assert abs(item) <= 1e9
                if isinstance(item, str):
                    assert item.encode() is not None


def test_without_a_key_the_batch_content_is_its_idempotency_key() -> None:
    events = [request(), request(actor="u2")]
    first = parse_batch(events)
    assert first.batch.key == parse_batch(list(events)).batch.key
    assert first.batch.key == content_key(events)
    assert first.batch.key != parse_batch([request()]).batch.key


@pytest.mark.parametrize("key", ["", "has space", "x" * 201, "é", "key\n"])
def test_a_bad_batch_key_fails_the_whole_batch(key: str) -> None:
    with pytest.raises(EventError, match="batch key"):
        parse_batch([request()], key=key)


@pytest.mark.parametrize(
    ("status", "error", "failed"),
    [
        (200, None, False),
        (404, None, False),
        (404, "NotFound /x", True),
        (500, None, True),
    ],
)
def test_a_request_fails_on_5xx_or_with_a_fingerprint(
    status: int, error: str | None, failed: bool
) -> None:
    outcome = RequestOutcome(WHEN, "u", "/x", status, 1.0, error=error)
    assert outcome.is_failed is failed
    assert outcome.status_class == f"{status // 100}xx"
