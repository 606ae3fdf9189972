"""Who calls the Flipper API, and whether they may change flags.

Open-source `Flipper::Api` has no authentication; Flipper Cloud's client sends
`flipper-cloud-token: <token>`, and apps put tokens in `Authorization: Bearer …`.
The mounting server decides what a token means: it passes an `Authorize` callable
that reads the request headers and returns the `Caller` (an audit author, and
whether it may write), or None to refuse the request.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from flagramp.store import Author

CLOUD_TOKEN_HEADER = "flipper-cloud-token"

#: Who acts when nobody says: the author of changes made through the API in tests
#: and on a server without tokens.
FLIPPER_API_AUTHOR = Author("flipper-api")


@dataclass(frozen=True, slots=True)
class Caller:
    """Who makes a request: the audit log's author, and whether they may write."""

    author: Author
    may_write: bool = True


#: Reads the request headers (a mapping with lower-case keys, such as Starlette's
#: `Headers`) and returns the caller, or None to answer 401.
Authorize = Callable[[Mapping[str, str]], Caller | None]


def allow_everyone(headers: Mapping[str, str]) -> Caller:
    """Everyone may read and write, as `flipper-api` (OSS Flipper's behaviour)."""
    return Caller(FLIPPER_API_AUTHOR)


def token_from_headers(headers: Mapping[str, str]) -> str | None:
    """The token a Flipper client sent: `flipper-cloud-token`, else a bearer token."""
    token = headers.get(CLOUD_TOKEN_HEADER, "").strip()
    if token:
        return token
    scheme, _, credentials = headers.get("authorization", "").strip().partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        return credentials.strip()
    return None


def token_table(callers: Mapping[str, Caller]) -> Authorize:
    """An `Authorize` that looks the sent token up in `callers`."""

    def authorize(headers: Mapping[str, str]) -> Caller | None:
        token = token_from_headers(headers)
        return None if token is None else callers.get(token)

    return authorize
