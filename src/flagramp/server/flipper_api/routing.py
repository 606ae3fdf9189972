"""Flipper's routes, matched as Flipper matches them: on the raw path, in order.

Flipper tries each action's regex against Rack's `path_info`, which is still
percent-encoded, and the first match wins; the feature name is decoded afterwards.
So `/features/a%2Fb/boolean` is the boolean gate of feature `a/b`. Starlette's
router decodes `%2F` before matching and would send it elsewhere, hence this table
over `scope["raw_path"]`. The `.*` is greedy: a name may hold `/`, and a trailing
slash belongs to the name (`/features/x/` is feature `x/`), as in Ruby.
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

from flagramp.server.flipper_api.rack import unescape


class Route(Enum):
    """Flipper's actions (lib/flipper/api/v1/actions/)."""

    EXPRESSION_GATE = "expression_gate"
    PERCENTAGE_OF_TIME_GATE = "percentage_of_time_gate"
    PERCENTAGE_OF_ACTORS_GATE = "percentage_of_actors_gate"
    ACTORS_GATE = "actors_gate"
    GROUPS_GATE = "groups_gate"
    BOOLEAN_GATE = "boolean_gate"
    CLEAR_FEATURE = "clear_feature"
    ACTORS = "actors"
    FEATURE = "feature"
    FEATURES = "features"
    IMPORT = "import"


def _feature(suffix: str) -> re.Pattern[str]:
    return re.compile(rf"\A/features/(?P<capture>.*){suffix}/?\Z")


#: In Flipper's order (lib/flipper/api/middleware.rb). Do not reorder: the first
#: match wins, and `/features/(.*)/?` would swallow every gate route before it.
ROUTES: tuple[tuple[Route, re.Pattern[str]], ...] = (
    (Route.EXPRESSION_GATE, _feature("/expression")),
    (Route.PERCENTAGE_OF_TIME_GATE, _feature("/percentage_of_time")),
    (Route.PERCENTAGE_OF_ACTORS_GATE, _feature("/percentage_of_actors")),
    (Route.ACTORS_GATE, _feature("/actors")),
    (Route.GROUPS_GATE, _feature("/groups")),
    (Route.BOOLEAN_GATE, _feature("/boolean")),
    (Route.CLEAR_FEATURE, _feature("/clear")),
    (Route.ACTORS, re.compile(r"\A/actors/(?P<capture>.*)/?\Z")),
    (Route.FEATURE, _feature("")),
    (Route.FEATURES, re.compile(r"\A/features/?\Z")),
    (Route.IMPORT, re.compile(r"\A/import/?\Z")),
)


@dataclass(frozen=True, slots=True)
class RouteMatch:
    """The matched route and the captured part of the path, still escaped."""

    route: Route
    capture: str = ""

    @property
    def feature_name(self) -> str:
        """The feature name, decoded as `Rack::Utils.unescape` does (`+` is a
        space); raises RackParseError for a bad %-escape."""
        return unescape(self.capture)

    @property
    def flipper_id(self) -> str:
        """The actor route's id, not decoded at all (Flipper does not decode it)."""
        return self.capture


def match_route(path: str) -> RouteMatch | None:
    """The first route whose regex matches the raw path, or None (Flipper's 404)."""
    for route, pattern in ROUTES:
        found = pattern.match(path)
        if found is not None:
            return RouteMatch(route, found.groupdict().get("capture") or "")
    return None


def route_path(scope: Mapping[str, Any]) -> str:
    """The raw (still escaped) request path below the app's mount point.

    `raw_path` holds the bytes as sent; a mounting app (Starlette's `Mount`, or a
    server's `root_path`) leaves them whole and says where it mounted in
    `root_path`, which is cut off the front. Without `raw_path` the decoded path is
    escaped again: `%2F` is then lost, which only servers that omit `raw_path` do.
    """
    raw = scope.get("raw_path")
    if raw:
        path = bytes(raw).decode("latin-1")
    else:
        path = urllib.parse.quote(str(scope.get("path", "")), safe="/")
    root = str(scope.get("root_path", ""))
    if root and path.startswith(root):
        path = path[len(root) :]
    return path
