"""Shared HTTP helpers for the external sources: JSON out of an httpx response."""

from __future__ import annotations

import json

import httpx

from flagramp.sources.base import SourceMalformed, SourceUnavailable


def get_json(
    client: httpx.Client,
    source: str,
    url: str,
    params: dict[str, str],
    headers: dict[str, str] | None = None,
) -> tuple[httpx.Response, object]:
    """GET `url`; the response and its JSON body (None if the body is not JSON).

    Raises SourceUnavailable for transport errors and timeouts.
    """
    try:
        response = client.get(url, params=params, headers=headers)
    except httpx.TimeoutException as exc:
        raise SourceUnavailable(source, f"timed out ({type(exc).__name__})") from exc
    except httpx.TransportError as exc:
        raise SourceUnavailable(source, f"{type(exc).__name__}: {exc}") from exc
    try:
        body: object = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        body = None
    return response, body


def require_mapping(source: str, value: object, what: str) -> dict[str, object]:
    """`value` as a JSON object, or SourceMalformed naming `what`."""
    if not isinstance(value, dict):
        raise SourceMalformed(source, f"{what} is not a JSON object")
    return {str(k): v for k, v in value.items()}


def require_list(source: str, value: object, what: str) -> list[object]:
    """`value` as a JSON array, or SourceMalformed naming `what`."""
    if not isinstance(value, list):
        raise SourceMalformed(source, f"{what} is not a JSON array")
    return value


def number(source: str, value: object, what: str) -> float:
    """A JSON number, or a numeric string (Prometheus quotes its sample values)."""
    if isinstance(value, bool):
        raise SourceMalformed(source, f"{what} is not a number: {value!r}")
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            pass
    raise SourceMalformed(source, f"{what} is not a number: {value!r}")
