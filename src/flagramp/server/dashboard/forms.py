"""Reading the dashboard's form posts (`application/x-www-form-urlencoded`).

The dashboard's forms are small; a body past `MAX_FORM_BYTES` is refused
rather than read. Parsing is the standard library's, so no multipart parser is
needed: no dashboard form uploads files.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from starlette.requests import Request

#: The largest form body the dashboard reads.
MAX_FORM_BYTES = 64 * 1024


class FormTooLarge(Exception):
    """A form body past `MAX_FORM_BYTES`."""


async def read_form(request: Request) -> dict[str, str]:
    """The posted fields (the last value of a repeated name wins)."""
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            raise FormTooLarge
    text = body.decode("utf-8", errors="replace")
    return dict(parse_qsl(text, keep_blank_values=True, max_num_fields=200))


def parse_properties(text: str) -> dict[str, str]:
    """Actor properties typed one `name=value` (or `name: value`) a line."""
    found: dict[str, str] = {}
    for line in text.splitlines():
        name, sep, value = line.partition("=")
        if not sep:
            name, sep, value = line.partition(":")
        if sep and name.strip():
            found[name.strip()] = value.strip()
    return found
