"""A scripted stand-in for the engine, to test the demo's loop on its own.

It keeps the plan's shape only: prerequisites, stages entered in order with
their percentage set in the real flag store, a hold, a go/no-go where the
stage has one, and a critical rollback when the treatment's error rate in the
stored windows passes 5 % on at least 200 requests. It is not the machine:
the real engine replaces it in `test_demo.py` once it is on main.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from flagramp.cli.demo_loop import LoggedEvent
from flagramp.core.clock import VirtualClock
from flagramp.core.flags import Flag, Percentage
from flagramp.core.flags import operations as ops
from flagramp.core.plans import Plan, RolloutPhase
from flagramp.core.types import Json
from flagramp.engine.commands import (
    Command,
    CommandRefused,
    ReEnable,
    SignPrerequisite,
    Vote,
)
from flagramp.engine.run_state import RunState, RunStatus
from flagramp.sim import epoch_minute
from flagramp.stats.windows import Lane, Window
from flagramp.store import Author, SqlFlagStore
from flagramp.store.windows import WindowStore

RUN = "R1"
FAKE = Author("fake-engine", "a scripted run")


@dataclass
class FakeEngine:
    store: SqlFlagStore
    windows: WindowStore
    clock: VirtualClock
    plan: Plan
    state_now: RunState | None = None
    signed: set[int] = field(default_factory=set)
    log: list[LoggedEvent] = field(default_factory=list)
    commands: list[Command] = field(default_factory=list)
    records: list[dict[str, Json]] = field(default_factory=list)
    seen: dict[str, list[Window]] = field(default_factory=dict)

    def start(self, plan_text: str, file: str, person: str) -> str:
        self._set(RunStatus.WAITING_PREREQUISITES, 0, None, "run_started", person)
        return RUN

    def state(self, run: str) -> RunState:
        assert self.state_now is not None
        return self.state_now

    def events(self, run: str, since: int) -> Sequence[LoggedEvent]:
        return [e for e in self.log if e.seq > since]

    def incidents(self, run: str) -> Sequence[Mapping[str, Json]]:
        return self.records

    def command(self, run: str, cmd: Command) -> None:
        state = self.state(run)
        if isinstance(cmd, SignPrerequisite):
            if state.status is not RunStatus.WAITING_PREREQUISITES:
                raise CommandRefused("not waiting")
            self.signed.add(cmd.item)
            self.commands.append(cmd)
            if len(self.signed) == len(self.plan.prerequisites):
                self._enter(0, 0, cmd.person)
            return
        if isinstance(cmd, Vote) and state.status is RunStatus.AWAITING_GO_NO_GO:
            if cmd.role not in self._stage(state).go_no_go_roles:
                raise CommandRefused("not your role")
            self.commands.append(cmd)
            self._next(state, cmd.person)
            return
        if isinstance(cmd, ReEnable) and state.status is RunStatus.ROLLED_BACK:
            self.commands.append(cmd)
            assert state.stage is not None
            self._enter(state.phase, max(state.stage - 1, 0), cmd.person)
            return
        raise CommandRefused("not waiting for that")

    def tick(self) -> None:
        state = self.state(RUN)
        if state.status is not RunStatus.STAGE_RUNNING:
            return
        now = self.clock.now()
        stage = self._stage(state)
        flag = stage.flag
        since = epoch_minute(state.since)
        known = self.seen.setdefault(flag, [])
        after = max([since, *(w.key.end for w in known)])
        known.extend(self.windows.windows(RUN, flag, lane=Lane.ON, start=after))
        found = [w for w in known if w.key.start >= since]
        failed = sum(float(w.metrics["error_rate"].sums.numerator.sum()) for w in found)
        requests = sum(
            float(w.metrics["error_rate"].sums.denominator.sum()) for w in found
        )
        if requests >= 200 and failed / requests > 0.05:
            self.store.change_flag(flag, ops.disable_percentage_of_actors, FAKE)
            self.records.append(
                {"incident": "I1", "severity": "critical", "trigger": "errors"}
            )
            self._set(
                RunStatus.ROLLED_BACK, state.phase, state.stage, "rolled_back", None
            )
            return
        if now - state.since < stage.hold:
            return
        if stage.go_no_go_roles:
            self._set(
                RunStatus.AWAITING_GO_NO_GO,
                state.phase,
                state.stage,
                "go_no_go_asked",
                None,
            )
            return
        self._next(state, None)

    def _next(self, state: RunState, person: str | None) -> None:
        assert state.stage is not None
        phase = self.plan.phases[state.phase]
        assert isinstance(phase, RolloutPhase)
        if state.stage + 1 < len(phase.stages):
            self._enter(state.phase, state.stage + 1, person)
        elif state.phase + 1 < len(self.plan.phases):
            self._enter(state.phase + 1, 0, person)
        else:
            self._set(RunStatus.COMPLETED, state.phase, state.stage, "completed", None)

    def _enter(self, phase: int, stage: int, person: str | None) -> None:
        rollout = self.plan.phases[phase]
        assert isinstance(rollout, RolloutPhase)
        pct = Percentage.parse(float(rollout.stages[stage].percentage))
        for key in rollout.flags:
            self.store.change_flag(key, functools.partial(_set_to, pct=pct), FAKE)
        self._set(RunStatus.STAGE_RUNNING, phase, stage, "stage_entered", person)

    def _stage(self, state: RunState) -> _StageView:
        phase = self.plan.phases[state.phase]
        assert isinstance(phase, RolloutPhase) and state.stage is not None
        stage = phase.stages[state.stage]
        gate = stage.go_no_go
        roles = () if gate is None else tuple(gate.roles)
        return _StageView(phase.flags[0], stage.hold.delta, roles)

    def _set(
        self,
        status: RunStatus,
        phase: int,
        stage: int | None,
        kind: str,
        actor: str | None,
    ) -> None:
        now = self.clock.now()
        self.state_now = RunState(status, phase, stage, now)
        data: dict[str, Json] = {"stage": -1 if stage is None else stage}
        self.log.append(LoggedEvent(len(self.log) + 1, now, kind, actor, data))


def _set_to(flag: Flag, pct: Percentage) -> Flag:
    return ops.set_percentage_of_actors(flag, pct)


@dataclass(frozen=True, slots=True)
class _StageView:
    flag: str
    hold: dt.timedelta
    go_no_go_roles: tuple[str, ...]
