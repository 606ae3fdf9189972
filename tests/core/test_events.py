"""Raw events: bad ones rejected with reasons and counted, the rest kept."""

from __future__ import annotations

import datetime as dt

import pytest

from flagramp.core.errors import EventError
from flagramp.core.event_parsing import content_key, parse_batch, parse_event
from flagramp.core.events import (
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


def test_without_a_key_the_batch_content_is_its_idempotency_key() -> None:
    events = [request(), request(actor="u2")]
    first = parse_batch(events)
    assert first.batch.key == parse_batch(list(events)).batch.key
    assert first.batch.key == content_key(events)
    assert first.batch.key != parse_batch([request()]).batch.key


@pytest.mark.parametrize("key", ["", "has space", "x" * 201, "é"])
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
