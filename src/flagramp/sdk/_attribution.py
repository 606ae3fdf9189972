"""Requests and the flags evaluated while they ran.

The middleware puts a `RequestRecord` in the client's context variable for the
duration of a request; every evaluation on that request's context (the same task,
or a thread started with a copy of its context, as starlette's threadpool does)
notes its flag and variant there. When the request ends the record becomes one
`request` event, whose actor is the first actor evaluated (or the one the app's
`actor` hook names) and whose `flags` field lists what each flag answered.
"""

from __future__ import annotations

from flagramp.core.types import Json

#: Longest route or fingerprint sent (the server refuses text over 500 bytes).
MAX_TEXT = 500


class RequestRecord:
    """What one request evaluated: flag -> enabled, and the first actor."""

    __slots__ = ("actor", "flags")

    def __init__(self) -> None:
        self.flags: dict[str, bool] = {}
        self.actor: str | None = None


def fingerprint(error: BaseException, route: str) -> str:
    """`TimeoutError /appointments/{id}`: the exception's type and the route
    template, so that one kind of failure on one route is one fingerprint."""
    kind = type(error)
    name = (
        kind.__qualname__
        if kind.__module__ == "builtins"
        else f"{kind.__module__}.{kind.__qualname__}"
    )
    return _clip(f"{name} {route}")


def request_event(
    *,
    at: float,
    actor: str,
    route: str,
    status: int,
    latency_ms: float,
    error: str | None,
    name: str,
    flags: dict[str, bool],
) -> dict[str, Json]:
    """The raw `request` event (core/event_parsing's shape), with the flags the
    request evaluated as `{"flag": "on" | "off"}` in `flags`."""
    variants: dict[str, Json] = {k: "on" if v else "off" for k, v in flags.items()}
    return {
        "type": "request",
        "at": at,
        "actor": actor,
        "route": _clip(route) or "/",
        "status": status,
        "latency_ms": max(0.0, latency_ms),
        "error": error,
        "name": name,
        "flags": variants,
    }


def business_event(
    *,
    at: float,
    actor: str,
    name: str,
    value: float | None,
    attributes: dict[str, Json] | None,
) -> dict[str, Json]:
    """The raw `business` event for `track`."""
    event: dict[str, Json] = {
        "type": "business",
        "at": at,
        "actor": actor,
        "name": name,
    }
    if value is not None:
        event["value"] = value
    if attributes:
        event["attributes"] = attributes
    return event


def _clip(text: str) -> str:
    encoded = text.encode("utf-8", "replace")
    if len(encoded) <= MAX_TEXT:
        return text
    return encoded[:MAX_TEXT].decode("utf-8", "ignore")
