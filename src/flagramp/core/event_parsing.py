"""Events from outside data: raw JSON-like dicts checked one by one.

A batch is never all-or-nothing: each invalid event is rejected with a reason code
and a sentence, counted, and the rest of the batch is kept. Whatever a JSON decoder
can produce (integers of 400 digits, 1e308, NaN, unpaired surrogates, times at the
edge of the calendar) ends as one rejected event, never as an error of the batch;
what is accepted is safe to aggregate (finite numbers within `MAX_VALUE`, times
within [EARLIEST, LATEST), text that encodes as UTF-8 without control characters).
The batch's idempotency key is the sender's, or, when it sends none, a hash of the
batch's canonical JSON (so a byte-for-byte redelivery still counts once).

Raw shapes (unknown fields are ignored, for senders newer than this server)::

    {"type": "exposure", "at": "2026-11-23T10:00:00Z", "actor": "u1",
     "flag": "new_flow", "variant": "on", "environment": "production",
     "allow_listed": false}
    {"type": "request", "at": 1795428000.5, "actor": "u1", "route": "/inbox",
     "status": 500, "latency_ms": 812.0, "device": "mobile",
     "error": "Timeout /inbox", "name": "sm_request"}
    {"type": "business", "at": "...", "actor": "u1", "name": "csat_response",
     "value": 4, "attributes": {"flow": "new"}}

`at` is an ISO 8601 time with a zone, or seconds since the epoch (UTC). With the
receiver's clock (`received_at`), events more than `MAX_CLOCK_SKEW` ahead of it or
more than `max_age` behind it are rejected (`future`, `too_old`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

from flagramp.core.errors import EventError
from flagramp.core.events import (
    EARLIEST,
    LATEST,
    MAX_LATENCY_MS,
    MAX_VALUE,
    OTHER_FINGERPRINTS,
    BusinessEvent,
    DeviceClass,
    Event,
    EventBatch,
    Exposure,
    RejectedEvent,
    RequestOutcome,
    Variant,
)
from flagramp.core.types import PropertyValue

#: Longest actor id, flag key, route or fingerprint accepted (bytes of UTF-8 text).
MAX_TEXT = 500
#: Events timed further ahead of the receiver's clock than this are rejected.
MAX_CLOCK_SKEW = dt.timedelta(minutes=5)
#: Events older than this behind the receiver's clock are rejected: their windows
#: are long past, and a flood of old times would open one window per minute.
MAX_EVENT_AGE = dt.timedelta(hours=1)
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]{0,99}")
_KEY = re.compile(r"[\x21-\x7e]{1,200}")
# C0 and C1 controls, DEL, and the bidirectional marks and overrides that make a
# terminal or a report show text other than what it is.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_EARLIEST_S = EARLIEST.timestamp()
_LATEST_S = LATEST.timestamp()
_YEARS = f"{EARLIEST.year}-{LATEST.year - 1}"
_E = TypeVar("_E", Variant, DeviceClass)
_MEMBERS: dict[type, dict[object, Variant | DeviceClass]] = {
    kind: {m.value: m for m in kind} for kind in (Variant, DeviceClass)
}


class InvalidEvent(EventError):
    """One raw event that cannot be accepted; `code` names the rule it broke."""

    def __init__(self, code: str, detail: str) -> None:
        self.reason_code = code
        self.detail = detail
        super().__init__(f"{code}: {detail}")


@dataclass(frozen=True, slots=True)
class ParsedBatch:
    """What came of a raw batch: the accepted events and the rejected ones."""

    batch: EventBatch
    rejected: tuple[RejectedEvent, ...]

    @property
    def accepted(self) -> int:
        """How many events were kept."""
        return len(self.batch.events)

    def rejected_counts(self) -> dict[str, int]:
        """Rejections per reason code, for the ingest counters."""
        return dict(Counter(r.code for r in self.rejected))


def content_key(raw_events: Sequence[object]) -> str:
    """An idempotency key from the batch's content: `sha256:` + canonical JSON hash."""
    try:
        text = json.dumps(raw_events, sort_keys=True, separators=(",", ":"))
    except (TypeError, ValueError, RecursionError) as exc:
        raise EventError(f"batch is not JSON data: {exc}") from exc
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def parse_batch(
    raw_events: Sequence[object],
    *,
    key: str | None = None,
    received_at: dt.datetime | None = None,
    max_age: dt.timedelta = MAX_EVENT_AGE,
) -> ParsedBatch:
    """Check every raw event; keep the valid ones, reject the others with reasons.

    Raises EventError only for a bad batch key (or a batch that is not JSON data
    when it has no key); bad events never fail the batch. `received_at` (the
    receiver's clock, passed in) rejects events from the future and events older
    than `max_age`.
    """
    if key is None:
        key = content_key(raw_events)
    elif not _KEY.fullmatch(key):
        raise EventError(
            f"batch key {key[:40]!r} must be 1-200 printable ASCII characters"
        )
    events: list[Event] = []
    rejected: list[RejectedEvent] = []
    if received_at is not None:
        latest, earliest = received_at + MAX_CLOCK_SKEW, received_at - max_age
    for index, raw in enumerate(raw_events):
        try:
            event = parse_event(raw)
            if received_at is not None and not earliest <= event.at <= latest:
                _refuse_time(event.at, latest, max_age)
        except InvalidEvent as exc:
            rejected.append(RejectedEvent(index, exc.detail, exc.reason_code))
            continue
        events.append(event)
    return ParsedBatch(EventBatch(key, tuple(events)), tuple(rejected))


def _refuse_time(at: dt.datetime, latest: dt.datetime, max_age: dt.timedelta) -> None:
    if at > latest:
        raise InvalidEvent("future", f"`at` {at.isoformat()} is ahead of the receiver")
    raise InvalidEvent(
        "too_old",
        f"`at` {at.isoformat()} is more than {_duration(max_age)} before the "
        "receiver's clock",
    )


def _duration(delta: dt.timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    if minutes % 60 == 0:
        hours = minutes // 60
        return f"{hours} hour{'s' if hours != 1 else ''}"
    return f"{minutes} minutes"


def parse_event(raw: object) -> Event:
    """One raw event as a value; raises InvalidEvent with the reason."""
    if not isinstance(raw, Mapping):
        raise InvalidEvent("not_an_object", "an event must be a JSON object")
    kind = raw.get("type")
    if kind == "exposure":
        return Exposure(
            at=_time(raw),
            actor=_text(raw, "actor"),
            flag=_text(raw, "flag"),
            variant=_choice(raw, "variant", Variant, None),
            environment=_optional_text(raw, "environment") or "production",
            allow_listed=_flag(raw, "allow_listed"),
        )
    if kind == "request":
        status = raw.get("status")
        if type(status) is not int or not 100 <= status <= 599:
            raise InvalidEvent("bad_status", "`status` must be an integer 100-599")
        latency = _number(raw, "latency_ms", MAX_LATENCY_MS)
        if latency is None or latency < 0:
            raise InvalidEvent("bad_latency", "`latency_ms` must be a number >= 0")
        return RequestOutcome(
            at=_time(raw),
            actor=_text(raw, "actor"),
            route=_text(raw, "route"),
            status=status,
            latency_ms=latency,
            device=_choice(raw, "device", DeviceClass, DeviceClass.OTHER),
            error=_fingerprint(raw),
            name=_name(raw, "name", "request"),
        )
    if kind == "business":
        return BusinessEvent(
            at=_time(raw),
            actor=_text(raw, "actor"),
            name=_name(raw, "name", None),
            value=_number(raw, "value", MAX_VALUE),
            route=_optional_text(raw, "route"),
            device=_choice(raw, "device", DeviceClass, DeviceClass.OTHER),
            attributes=_attributes(raw),
        )
    raise InvalidEvent(
        "unknown_type", f"`type` must be exposure, request or business, not {kind!r}"
    )


def _time(raw: Mapping[object, object]) -> dt.datetime:
    value = raw.get("at")
    if isinstance(value, bool):
        raise InvalidEvent("bad_time", "`at` must be a time, not a boolean")
    if isinstance(value, int | float):
        seconds = _as_float(value)
        if seconds is None or not _EARLIEST_S <= seconds < _LATEST_S:
            raise InvalidEvent("bad_time", f"`at` must be in {_YEARS} (UTC)")
        return dt.datetime.fromtimestamp(seconds, dt.UTC)
    if not isinstance(value, str):
        raise InvalidEvent("bad_time", "`at` is missing")
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        raise InvalidEvent("bad_time", f"`at` {value[:40]!r} is not ISO 8601") from None
    if parsed.tzinfo is None:
        # Rationale: a naive time is read in the sender's zone, which we do not know;
        # guessing UTC would shift a whole batch into the wrong windows.
        raise InvalidEvent("bad_time", "`at` has no time zone")
    try:
        utc = parsed.astimezone(dt.UTC)
    except OverflowError:
        # Year 1 at +01:00 or year 9999 at -01:00: no UTC time exists.
        raise InvalidEvent("bad_time", f"`at` must be in {_YEARS} (UTC)") from None
    if not EARLIEST <= utc < LATEST:
        raise InvalidEvent("bad_time", f"`at` must be in {_YEARS} (UTC)")
    return utc


def _text(raw: Mapping[object, object], field: str) -> str:
    value = raw.get(field)
    if not isinstance(value, str) or not value.strip():
        raise InvalidEvent(f"missing_{field}", f"`{field}` must be a non-empty string")
    if value.isascii() and value.isprintable():
        # The common case, checked in C: printable ASCII has no control characters
        # or surrogates, and as many bytes as characters.
        if len(value) > MAX_TEXT:
            raise InvalidEvent(f"long_{field}", f"`{field}` is over {MAX_TEXT} bytes")
        return value
    if len(_utf8(value, f"bad_{field}", f"`{field}`")) > MAX_TEXT:
        raise InvalidEvent(f"long_{field}", f"`{field}` is over {MAX_TEXT} bytes")
    if _CONTROL.search(value):
        raise InvalidEvent(f"bad_{field}", f"`{field}` contains control characters")
    return value


def _utf8(value: str, code: str, what: str) -> bytes:
    try:
        return value.encode()
    except UnicodeEncodeError:
        raise InvalidEvent(
            code, f"{what} is not valid Unicode (an unpaired surrogate)"
        ) from None


def _optional_text(raw: Mapping[object, object], field: str) -> str | None:
    return None if raw.get(field) is None else _text(raw, field)


def _fingerprint(raw: Mapping[object, object]) -> str | None:
    if raw.get("error") is None:
        return None
    error = _text(raw, "error")
    if error == OTHER_FINGERPRINTS:
        raise InvalidEvent(
            "bad_error", f"`error` {OTHER_FINGERPRINTS!r} is reserved for windows"
        )
    return error


def _name(raw: Mapping[object, object], field: str, default: str | None) -> str:
    value = raw.get(field)
    if value is None and default is not None:
        return default
    if not isinstance(value, str) or not _NAME.fullmatch(value):
        raise InvalidEvent(
            "bad_name", f"`{field}` must be a name like `message_sent` (max 100)"
        )
    return value


def _as_float(value: int | float) -> float | None:
    """`value` as a finite float, or None (NaN, infinities, integers past 1e308)."""
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


def _number(raw: Mapping[object, object], field: str, limit: float) -> float | None:
    value = raw.get(field)
    if value is None:
        return None
    # The common case in one comparison: it is False for NaN, infinities and
    # integers past any float (Python compares int and float exactly). `type is`,
    # not isinstance: True is an int.
    if (type(value) is float or type(value) is int) and -limit <= value <= limit:
        return float(value)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidEvent(f"bad_{field}", f"`{field}` must be a number")
    number = _as_float(value)
    if number is None:
        raise InvalidEvent(f"bad_{field}", f"`{field}` must be finite")
    if abs(number) > limit:
        raise InvalidEvent(f"bad_{field}", f"`{field}` must be at most {limit:,.0f}")
    return number


def _flag(raw: Mapping[object, object], field: str) -> bool:
    value = raw.get(field, False)
    if not isinstance(value, bool):
        raise InvalidEvent(f"bad_{field}", f"`{field}` must be true or false")
    return value


def _choice(
    raw: Mapping[object, object], field: str, kind: type[_E], default: _E | None
) -> _E:
    value = raw.get(field)
    if value is None and default is not None:
        return default
    # Rationale: a dict lookup; iterating the enum per event tripled parse time.
    members: dict[object, _E] = _MEMBERS[kind]  # type: ignore[assignment]
    member = members.get(value) if isinstance(value, str) else None
    if member is None:
        raise InvalidEvent(
            f"bad_{field}",
            f"`{field}` must be one of {', '.join(map(str, members))}, not {value!r}",
        )
    return member


def _attributes(
    raw: Mapping[object, object],
) -> tuple[tuple[str, PropertyValue], ...]:
    value = raw.get("attributes")
    if value is None:
        return ()
    if not isinstance(value, Mapping) or len(value) > 32:
        raise InvalidEvent(
            "bad_attributes", "`attributes` must be an object of at most 32 fields"
        )
    items: list[tuple[str, PropertyValue]] = []
    for name, item in value.items():
        if not isinstance(name, str) or not _NAME.fullmatch(name):
            raise InvalidEvent("bad_attributes", f"attribute name {name!r} is invalid")
        items.append((name, _attribute(name, item)))
    return tuple(sorted(items))


def _attribute(name: str, item: object) -> PropertyValue:
    if item is None or isinstance(item, bool):
        return item
    if isinstance(item, int | float):
        number = _as_float(item)
        if number is None:
            raise InvalidEvent("bad_attributes", f"attribute {name!r} is not finite")
        if abs(number) > MAX_VALUE:
            raise InvalidEvent(
                "bad_attributes",
                f"attribute {name!r} must be at most {MAX_VALUE:,.0f} (send larger "
                "numbers, such as ids, as strings)",
            )
        return item
    if isinstance(item, str):
        if len(_utf8(item, "bad_attributes", f"attribute {name!r}")) > MAX_TEXT:
            raise InvalidEvent("bad_attributes", f"attribute {name!r} is too long")
        return item
    raise InvalidEvent("bad_attributes", f"attribute {name!r} is not a scalar")
