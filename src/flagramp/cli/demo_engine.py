"""The engine as the demo drives it: the run service and the controller.

`open_run_engine` adapts `engine.service.RunService` and `engine.controller.
Controller` to the loop's `RunEngine` port, on one store and one virtual clock.
Until the engine's runner lands on this branch it raises `DemoUnavailable`.
"""

from __future__ import annotations

from flagramp.cli.demo_loop import RunEngine
from flagramp.core.clock import VirtualClock
from flagramp.core.errors import EngineError
from flagramp.store import SqlFlagStore
from flagramp.store.windows import WindowStore

__all__ = ["DemoUnavailable", "open_run_engine"]


class DemoUnavailable(EngineError):
    """The demo cannot run: the engine it drives is missing."""

    code = "demo_unavailable"

    def __init__(self, missing: str) -> None:
        self.missing = missing
        super().__init__(f"the demo needs {missing}, which this build does not have")


def open_run_engine(
    store: SqlFlagStore, windows: WindowStore, clock: VirtualClock
) -> RunEngine:
    """The run service and a controller on `store`, ticking at `clock`."""
    raise DemoUnavailable("the run service and controller (engine.service)")
