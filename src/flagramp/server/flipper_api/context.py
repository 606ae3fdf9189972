"""What every handler shares: the store and environment, the request, the reply."""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from flagramp.core.clock import Clock
from flagramp.core.errors import FlagNotFound
from flagramp.core.flags import Evaluator, Flag, Segment, flipper_view
from flagramp.core.types import Json
from flagramp.server.flipper_api.decorators import feature_json
from flagramp.server.flipper_api.errors import (
    INVALID_REQUEST,
    NAME_INVALID,
    NAME_TOO_LONG,
    FlipperApiError,
)
from flagramp.server.flipper_api.params import Params
from flagramp.server.flipper_api.rack import RackParseError
from flagramp.server.flipper_api.routing import RouteMatch
from flagramp.store import Author, FlagStore

#: The store keeps keys of up to 255 characters (flags.key is varchar(255)).
MAX_KEY_LENGTH = 255

FlagChange = Callable[[Flag], Flag]


@dataclass(frozen=True, slots=True)
class ApiRequest:
    """One request, parsed: what a handler reads."""

    method: str  # HEAD is served as GET
    match: RouteMatch
    params: Params
    author: Author
    json_body: Json = None
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)

    def feature_key(self) -> str:
        """The feature name from the path, decoded as Rack does; raises
        FlipperApiError for a bad %-escape."""
        try:
            return self.match.feature_name
        except RackParseError as exc:
            raise FlipperApiError(INVALID_REQUEST, str(exc)) from exc


@dataclass(frozen=True, slots=True)
class Reply:
    """A handler's answer; `document` None means an empty body (204, 304), and
    `rendered` is the document already written as JSON bytes."""

    status: int
    document: Json = None
    headers: Mapping[str, str] = field(default_factory=dict)
    rendered: bytes | None = None


def render(document: Json) -> bytes:
    """JSON as Ruby's `JSON.generate` writes it: compact, UTF-8, not ASCII-escaped."""
    text = json.dumps(document, ensure_ascii=False, separators=(",", ":"))
    return text.encode("utf-8")


class RenderedCache:
    """Answers already written, by ETag: the ETag names one representation, so
    while the store version stays, the same bytes are the right answer."""

    def __init__(self, size: int = 64) -> None:
        self.size = size
        self._entries: OrderedDict[str, bytes] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, etag: str) -> bytes | None:
        with self._lock:
            found = self._entries.get(etag)
            if found is not None:
                self._entries.move_to_end(etag)
            return found

    def put(self, etag: str, body: bytes) -> None:
        with self._lock:
            self._entries[etag] = body
            self._entries.move_to_end(etag)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)


def checked_key(key: str) -> str:
    """A key for a feature about to be created. Flipper would create `""` from a
    path such as `/features//boolean`; flagramp answers code 5 instead, since an
    empty key is never meant, and refuses what the store cannot hold."""
    if not key:
        raise FlipperApiError(NAME_INVALID)
    if len(key) > MAX_KEY_LENGTH:
        raise FlipperApiError(NAME_TOO_LONG, f"{len(key)} characters")
    return key


class FlipperContext:
    """The store, one environment, and the clock and dice evaluation reads."""

    def __init__(
        self,
        store: FlagStore,
        environment: str,
        clock: Clock,
        random: Callable[[], float],
    ) -> None:
        self.store = store
        self.environment = environment
        self.clock = clock
        self.random = random
        self.rendered = RenderedCache()

    def segments(self) -> dict[str, Segment]:
        return self.store.segments(self.environment)

    def evaluator(self, segments: Mapping[str, Segment]) -> Evaluator:
        return Evaluator(segments, self.clock, self.random)

    def feature_reply(self, flag: Flag) -> Reply:
        """200 with the feature as Ruby clients are served it."""
        served = flipper_view(flag, self.segments()).flag
        return Reply(200, feature_json(served))

    def upsert(self, key: str, change: FlagChange, author: Author, action: str) -> Flag:
        """Apply `change` to the flag, creating it first if it is missing (every
        Flipper gate write adds the feature), in one store write either way."""
        checked_key(key)
        for _ in range(3):
            try:
                return self.store.change_flag(
                    key, change, author, self.environment, action
                )
            except FlagNotFound:
                pass
            wanted = change(Flag(key=key))
            created = self.store.create_flag(wanted, author, self.environment)
            if created == wanted:
                return created
            # Someone else created it in between: change theirs.
        return self.store.change_flag(key, change, author, self.environment, action)
