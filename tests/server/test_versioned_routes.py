"""`VersionedRoutes`: the runs' routes are read again exactly when the store's
version moved, and never kept under a version newer than they were read at."""

from __future__ import annotations

from flagramp.engine.event_targets import EventRoute
from flagramp.server.event_sinks import KEPT_ENVIRONMENTS, VersionedRoutes


def route(scope: str) -> EventRoute:
    return EventRoute("R1", scope, "f", "production", (), "hash")


def test_routes_are_read_again_when_the_version_moves() -> None:
    version = [1]
    reads: list[str] = []
    current = [route("R1/p/s/1")]

    def routes(environment: str) -> list[EventRoute]:
        reads.append(environment)
        return list(current)

    kept = VersionedRoutes(lambda: version[0], routes)
    assert kept("production") == (route("R1/p/s/1"),)
    assert kept("production") == (route("R1/p/s/1"),)
    assert reads == ["production"]
    current[:] = [route("R1/p/s/2")]  # a transition: a unit of work, a new version
    version[0] = 2
    assert kept("production") == (route("R1/p/s/2"),)
    assert kept("staging") == (route("R1/p/s/2"),)
    assert reads == ["production", "production", "staging"]


def test_routes_read_across_a_transition_are_read_again_next_time() -> None:
    version = [1]
    current = [route("R1/p/s/1")]

    def routes(environment: str) -> list[EventRoute]:
        found = list(current)
        # The transition commits after the version was read, before the routes.
        current[:] = [route("R1/p/s/2")]
        version[0] = 2
        return found

    kept = VersionedRoutes(lambda: version[0], routes)
    assert kept("production") == (route("R1/p/s/1"),)
    assert kept("production") == (route("R1/p/s/2"),)


def test_few_environments_are_kept() -> None:
    kept = VersionedRoutes(lambda: 1, lambda environment: [])
    for n in range(3 * KEPT_ENVIRONMENTS):
        kept(f"env-{n}")
    assert len(kept._kept) <= KEPT_ENVIRONMENTS
