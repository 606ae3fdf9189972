"""The engine as the demo drives it: the run service and the controller.

`open_run_engine` adapts `engine.service.RunService` and `engine.controller.
Controller` to the loop's `RunEngine` port, on one store and one virtual clock.
The controller reads windows through `RememberedWindows`: the demo is the only
writer of the run's windows, so it keeps each window it writes decoded and
answers the controller's reads from memory (decoding stored windows again at
every tick cost most of a demo run's time; the store still holds them all, for
`flagramp run show` and the reports).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

from sqlalchemy import Engine

from flagramp.cli.demo_loop import LoggedEvent, RunEngine
from flagramp.core.clock import VirtualClock
from flagramp.core.errors import EngineError
from flagramp.core.types import Json
from flagramp.engine.commands import Command
from flagramp.engine.compiled import CompiledStage
from flagramp.engine.controller import Controller
from flagramp.engine.evaluate import evaluate_stage
from flagramp.engine.evaluation import StageEvaluation
from flagramp.engine.run_state import RunState
from flagramp.engine.service import RunService
from flagramp.stats.windows import Lane, Window
from flagramp.store import SqlFlagStore
from flagramp.store.windows import DecodedWindows, WindowStore

__all__ = ["DemoStuck", "EngineOnStore", "RememberedWindows", "open_run_engine"]


class DemoStuck(EngineError):
    """The controller could not move the demo's run (it says why)."""

    code = "demo_stuck"

    def __init__(self, failed: Mapping[str, str]) -> None:
        self.failed = dict(failed)
        super().__init__(f"the controller failed: {self.failed}")


class RememberedWindows(WindowStore):
    """A window store that keeps what this process wrote, decoded.

    Reads of a (run string, flag) this process wrote are answered from memory,
    exactly as the store would answer them, as long as nobody else writes
    windows of that scope (true of the demo). Compacting a scope forgets it.
    """

    def __init__(self, engine: Engine) -> None:
        super().__init__(engine)
        self._kept: dict[tuple[str, str], list[Window]] = {}

    def add_batch(self, run: str, key: str, windows: Sequence[Window]) -> bool:
        """As `WindowStore.add_batch`; the windows are kept for later reads."""
        added = super().add_batch(run, key, windows)
        if added:
            for window in windows:
                kept = self._kept.setdefault((run, window.key.flag), [])
                _keep(kept, window)
        return added

    def windows(
        self,
        run: str,
        flag: str,
        *,
        lane: Lane | None = None,
        start: int | None = None,
        end: int | None = None,
        decoded: DecodedWindows | None = None,
    ) -> tuple[Window, ...]:
        """As `WindowStore.windows`: inside [start, end), oldest first."""
        kept = self._kept.get((run, flag))
        if kept is None:
            return super().windows(
                run, flag, lane=lane, start=start, end=end, decoded=decoded
            )
        return tuple(
            w
            for w in kept
            if (lane is None or w.key.lane is lane)
            and (start is None or w.key.start >= start)
            and (end is None or w.key.end <= end)
        )

    def written(self) -> tuple[tuple[str, str], ...]:
        """Every (run string, flag) this process wrote windows of and keeps."""
        return tuple(self._kept)

    def compact(self, run: str, flag: str, span: int, before: int) -> int:
        """As `WindowStore.compact`; later reads of the scope go to the store."""
        self._kept.pop((run, flag), None)
        return super().compact(run, flag, span, before)


def _keep(kept: list[Window], window: Window) -> None:
    """Insert in the store's order (start, end, lane), merging an equal key."""
    order = (window.key.start, window.key.end, window.key.lane.value)
    for i in range(len(kept) - 1, -1, -1):
        other = kept[i]
        if other.key == window.key:
            kept[i] = other.merge(window)
            return
        if (other.key.start, other.key.end, other.key.lane.value) <= order:
            kept.insert(i + 1, window)
            return
    kept.insert(0, window)


class EngineOnStore:
    """`RunEngine` over the real run service and controller."""

    def __init__(
        self, store: SqlFlagStore, windows: WindowStore, clock: VirtualClock
    ) -> None:
        self.service = RunService(store, windows, clock)
        self._evaluations: dict[tuple[int, int], StageEvaluation] = {}
        # No webhooks are configured in the demo's fresh store: nothing to send.
        self.controller = Controller(
            store, windows, clock, evaluate=self._evaluate, send=None
        )

    def _evaluate(
        self, stage: CompiledStage, *args: object, **kwargs: object
    ) -> StageEvaluation:
        # Kept for the display, so that it shows what the controller decided
        # on instead of evaluating the stage a second time.
        found = evaluate_stage(stage, *args, **kwargs)  # type: ignore[arg-type]
        self._evaluations[(stage.phase_index, stage.stage_index)] = found
        return found

    def evaluation(self, phase: int, stage: int) -> StageEvaluation | None:
        """The controller's last evaluation of that stage (this process)."""
        return self._evaluations.get((phase, stage))

    def start(self, plan_text: str, file: str, person: str) -> str:
        """Start a run of the plan; returns the run id."""
        return self.service.start(plan_text, person=person, file=file).id

    def tick(self) -> None:
        """One controller tick at the clock's time."""
        report = self.controller.tick()
        if report.failed:
            # The demo cannot go on from a run the engine refuses to move.
            raise DemoStuck(report.failed)

    def state(self, run: str) -> RunState:
        """The run's stored state."""
        return RunState.from_json(self.service.reader.load(run).state)

    def command(self, run: str, cmd: Command) -> None:
        """Apply a person's command; raises CommandRefused."""
        self.service.command(run, cmd)

    def events(self, run: str, since: int) -> Sequence[LoggedEvent]:
        """The run's log after seq `since`."""
        return [
            LoggedEvent(e.seq, dt.datetime.fromisoformat(e.at), e.kind, e.actor, e.data)
            for e in self.service.log(run, since)
        ]

    def incidents(self, run: str) -> Sequence[Mapping[str, Json]]:
        """Every incident of the run, each its whole record."""
        return [i.record for i in self.service.incidents(run)]


def open_run_engine(
    store: SqlFlagStore, windows: WindowStore, clock: VirtualClock
) -> RunEngine:
    """The run service and a controller on `store`, ticking at `clock`."""
    return EngineOnStore(store, windows, clock)
